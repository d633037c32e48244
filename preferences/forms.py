from django import forms

from metrics.catalog import Category

CATEGORY_CHOICES = [(c.value, c.value.title()) for c in Category]


class OrderForm(forms.Form):
    """The order as the page submits it: data source ids, most trusted first, plus what to
    do with it. The service validates ownership; this only parses."""

    order = forms.TypedMultipleChoiceField(coerce=int, required=True)
    metric = forms.CharField(required=False)
    action = forms.ChoiceField(
        choices=[("preview", "preview"), ("save", "save"), ("reset", "reset")],
        required=False,
    )
    move = forms.RegexField(regex=r"^\d+:(up|down)$", required=False)

    def __init__(self, *args, source_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].choices = [(i, i) for i in source_ids]

    def moved_order(self) -> list[int]:
        """The submitted order with the requested one-step move applied."""
        order = list(self.cleaned_data["order"])
        if move := self.cleaned_data.get("move"):
            source_id, direction = move.split(":")
            i = order.index(int(source_id)) if int(source_id) in order else -1
            j = i - 1 if direction == "up" else i + 1
            if i >= 0 and 0 <= j < len(order):
                order[i], order[j] = order[j], order[i]
        return order
