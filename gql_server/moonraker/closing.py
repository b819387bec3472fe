"""The ``async with`` exit both Moonraker connections share: leaving the block closes."""

from types import TracebackType


class ClosedOnExit:
    """``async with`` closes the connection however the block ends; ``aclose`` says how."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
