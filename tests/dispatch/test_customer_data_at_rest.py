import pytest
from django.db import connection

from dispatch import crypto
from dispatch.exceptions import InvalidPhone
from dispatch.models import Customer
from dispatch.services import customer_get_or_create, ticket_create

pytestmark = pytest.mark.django_db


def _raw_row(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        return " ".join(str(value) for value in cursor.fetchone())


def test_database_never_holds_the_plaintext_phone_name_or_address(ticket_input, operator):
    ticket = ticket_create(**ticket_input, by=operator)

    customer_row = _raw_row("dispatch_customer", ticket.customer_id)
    address_row = _raw_row("dispatch_address", ticket.address_id)
    for secret in ("13812345678", "+8613812345678", "5678", "张伟"):
        assert secret not in customer_row
    assert "建设路" not in address_row and "501" not in address_row
    # and the application still reads them back
    customer = Customer.objects.get(pk=ticket.customer_id)
    assert (customer.phone, customer.name) == ("+8613812345678", "张伟")


@pytest.mark.parametrize("written", ["13812345678", "+86 138 1234 5678", "138-1234-5678", "+8613812345678"])
def test_one_customer_per_number_however_it_is_written(db, written):
    first = customer_get_or_create(phone="13812345678")

    assert customer_get_or_create(phone=written).pk == first.pk
    assert Customer.objects.count() == 1
    assert first.phone_index == crypto.phone_index("+8613812345678")


def test_landlines_are_customers_too(db):
    customer = customer_get_or_create(phone="010-6552 9988")

    assert customer.phone == "+861065529988"


@pytest.mark.parametrize("bad", ["", "12345", "1381234567", "abcdefghijk", "+1 555"])
def test_invalid_numbers_are_refused_with_a_chinese_message(db, bad):
    with pytest.raises(InvalidPhone) as error:
        customer_get_or_create(phone=bad)

    assert "手机号" in str(error.value.message) or "电话号码" in str(error.value.message)
    assert not Customer.objects.exists()


def test_rotating_keys_keeps_old_rows_readable(settings, db):
    from cryptography.fernet import Fernet

    customer = customer_get_or_create(phone="13812345678", name="李娜")
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]

    assert Customer.objects.get(pk=customer.pk).name == "李娜"
    token = crypto.encrypt("李娜")
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key is gone
    assert crypto.decrypt(token) == "李娜"


@pytest.mark.parametrize(
    ("e164", "masked"),
    [("+8613812345678", "138****5678"), ("+861065529988", "010****9988")],
)
def test_masking(e164, masked):
    assert crypto.mask_phone(e164) == masked


def test_rotate_command_moves_every_row_to_the_new_key(settings, ticket_input, operator):
    from io import StringIO

    from cryptography.fernet import Fernet
    from django.core.management import call_command

    ticket = ticket_create(**ticket_input, by=operator)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]

    out = StringIO()
    call_command("rotate_customer_keys", stdout=out)

    assert "Re-encrypted 2 rows" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is retired
    customer = Customer.objects.get(pk=ticket.customer_id)
    assert (customer.phone, customer.name) == ("+8613812345678", "张伟")
    assert customer.addresses.get().detail == ticket_input["address_detail"]
