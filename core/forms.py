"""Form helpers shared by the apps' pages."""

from typing import Any

from django import forms


def style_widgets(form: forms.BaseForm) -> None:
    """Give every widget of the form its Bootstrap class, so templates stay plain loops."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm"
        else:
            css = "form-control form-control-sm"
        widget.attrs.setdefault("class", css)


class BootstrapFilterForm(forms.Form):
    """The form of a list page's filters, its widgets styled for Bootstrap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self)
