from django.db import models

from dispatch import crypto


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; Python code sees plaintext, the database never does. Not searchable: look
    phones up through Customer.phone_index."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)
