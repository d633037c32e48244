from django.urls import reverse

NAVIGATION = (
    ("dashboard", "Dashboard"),
    ("sources:index", "Sources"),
    ("imports:index", "Imports"),
    ("preferences:index", "Priorities"),
    ("api_docs", "API"),
    ("accounts:index", "Account"),
)


def navigation(request):
    """The main navigation, with the current section marked for aria-current."""
    path = request.path
    items = []
    for name, label in NAVIGATION:
        url = reverse(name)
        current = path == url if url == "/" else path.startswith(url)
        items.append({"url": url, "label": label, "current": current})
    return {"nav_items": items}
