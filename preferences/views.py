from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from metrics.catalog import BY_KEY, METRICS, Category, metrics_in
from preferences.forms import OrderForm
from preferences.models import RecomputeRun
from preferences.selectors import (
    default_score,
    has_custom_order,
    priority_preview,
    source_comparison,
    source_order_for,
    sources_with_data,
)
from preferences.services import priority_reset, priority_set

RANKED_CATEGORIES = list(Category)


def _category(value: str) -> Category:
    try:
        return Category(value)
    except ValueError as exc:
        raise Http404 from exc


@login_required
def index(request):
    """Every category with its current order."""
    cards = []
    for category in RANKED_CATEGORIES:
        order = source_order_for(user=request.user, category=category)
        if order:
            cards.append(
                {
                    "category": category,
                    "order": order,
                    "custom": has_custom_order(user=request.user, category=category),
                }
            )
    runs = RecomputeRun.objects.filter(user=request.user).exclude(
        status__in=[RecomputeRun.Status.SUCCEEDED, RecomputeRun.Status.FAILED]
    )[:5]
    return render(request, "preferences/index.html", {"cards": cards, "runs": runs})


@login_required
@require_http_methods(["GET", "POST"])
def category_edit(request, category: str):
    """Reorder one category (or one metric of it): drag and drop, or the Up/Down buttons
    (which work without JavaScript); preview the last 30 days before saving."""
    category = _category(category)
    metric_key = request.GET.get("metric") or request.POST.get("metric") or None
    if metric_key and (metric_key not in BY_KEY or BY_KEY[metric_key].category != category):
        raise Http404
    sources = sources_with_data(
        user=request.user,
        category=category,
        metric_id=BY_KEY[metric_key].id if metric_key else None,
    )
    order = source_order_for(
        user=request.user, category=category, metric_key=metric_key, sources=sources
    )
    preview = None
    if request.method == "POST":
        form = OrderForm(request.POST, source_ids=[s.id for s in sources])
        if not form.is_valid():
            messages.error(request, "That order could not be read; please try again.")
            return redirect(request.path)
        action = form.cleaned_data["action"]
        try:
            if action == "reset":
                run = priority_reset(user=request.user, category=category, metric_key=metric_key)
                messages.success(request, "Back to the default order. Recomputing…")
                return redirect("preferences:index")
            if action == "save":
                run = priority_set(
                    user=request.user,
                    category=category,
                    metric_key=metric_key,
                    data_source_ids=form.cleaned_data["order"],
                )
                messages.success(request, f"Order saved. Recomputing {run.total} metrics…")
                return redirect("preferences:index")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(request.path)
        by_id = {s.id: s for s in sources}
        order = [by_id[i] for i in form.moved_order()]
        preview = priority_preview(user=request.user, category=category, order=order)
    ctx = {
        "category": category,
        "metric": BY_KEY.get(metric_key) if metric_key else None,
        "metrics": metrics_in(category),
        "order": [{"source": s, "default_score": default_score(s)} for s in order],
        "custom": has_custom_order(user=request.user, category=category, metric_key=metric_key),
        "preview": preview,
    }
    return render(request, "preferences/category.html", ctx)


@login_required
def run_status(request, run_id: int):
    run = get_object_or_404(RecomputeRun, id=run_id, user=request.user)
    return JsonResponse(
        {"status": run.status, "done": run.done, "total": run.total, "percent": run.percent}
    )


@login_required
def compare(request):
    """Overlay one metric from two or more sources and show how well they agree."""
    metric_key = request.GET.get("metric", "steps")
    if metric_key not in BY_KEY:
        raise Http404
    try:
        source_ids = [int(i) for i in request.GET.getlist("source")]
        days = min(max(int(request.GET.get("days", 90)), 7), 730)
    except ValueError as exc:
        raise Http404 from exc
    candidates = sources_with_data(
        user=request.user, category=BY_KEY[metric_key].category, metric_id=BY_KEY[metric_key].id
    )
    if not source_ids:
        source_ids = [s.id for s in candidates[:2]]
    comparison = source_comparison(
        user=request.user, metric_key=metric_key, source_ids=source_ids, days=days
    )
    chart = {
        "days": [d.isoformat() for d in comparison["days"]],
        "series": [
            {"label": str(s), "values": [row[1][i] for row in comparison["rows"]]}
            for i, s in enumerate(comparison["sources"])
        ],
        "unit": comparison["metric"].display_unit,
    }
    ctx = {
        **comparison,
        "chart": chart,
        "candidates": candidates,
        "selected": source_ids,
        "metrics": METRICS,
        "period": days,
    }
    return render(request, "preferences/compare.html", ctx)
