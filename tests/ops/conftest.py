from tests.dispatch.conftest import t0  # noqa: F401 - shared fixture (yonghe, zhihe and ticket_input are global)
