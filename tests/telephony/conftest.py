from tests.api.conftest import (  # noqa: F401 - the same actors and helpers
    api,
    assert_error_shape,
    call_storage,
    key_client,
    make_key,
    t0,
    ticket,
    wang,
    zhao,
)
