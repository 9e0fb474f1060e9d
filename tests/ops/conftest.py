from tests.dispatch.conftest import t0, ticket_input, yonghe, zhihe  # noqa: F401 - shared fixtures
