"""Form helpers shared by the apps' list pages."""

from typing import Any

from django import forms


class BootstrapFilterForm(forms.Form):
    """Gives every filter widget its Bootstrap class, so the template stays a plain loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            css = "form-select form-select-sm" if is_select else "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)
