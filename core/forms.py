"""Back-office forms and the domain's errors: a service's ``DomainError`` shown on the form."""

from typing import Any

from django import forms

from core.errors import DomainError


def add_service_errors(form: forms.Form, errors: DomainError | dict[str, Any]) -> None:
    """Put a service's error on ``form``: its ``{field: [messages]}`` next to the fields they
    name (unknown fields, and an error without fields, as form-wide errors). Takes the
    ``DomainError`` itself or its field errors."""
    if isinstance(errors, DomainError):
        if not errors.fields:
            form.add_error(None, errors.message)
            return
        errors = errors.fields
    for field, messages in errors.items():
        if isinstance(messages, dict):
            messages = [f"{k}: {' '.join(v)}" for k, v in messages.items()]
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
