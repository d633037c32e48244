from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from imports.models import ImportJob
from imports.services import ImportRefused, import_job_cancel, import_job_start


@login_required
def index(request):
    if request.method == "POST":
        uploaded = request.FILES.get("file")
        if uploaded is None:
            messages.error(
                request, "No file arrived: choose one, and check it is under the size limit."
            )
            return redirect("imports:index")
        try:
            job = import_job_start(user=request.user, uploaded=uploaded)
        except ImportRefused as exc:
            messages.error(request, str(exc))
            return redirect("imports:index")
        return redirect("imports:job", job_id=job.id)
    jobs = ImportJob.objects.filter(user=request.user)[:20]
    return render(request, "imports/index.html", {"jobs": jobs})


def _job(request, job_id: int) -> ImportJob:
    return get_object_or_404(ImportJob, id=job_id, user=request.user)


@login_required
def job_detail(request, job_id: int):
    return render(request, "imports/job.html", {"job": _job(request, job_id)})


def job_status_payload(job: ImportJob) -> dict:
    elapsed = None
    if job.started_at:
        end = job.finished_at or job.heartbeat_at or job.started_at
        elapsed = max((end - job.started_at).total_seconds(), 0.0)
    rate = job.records_processed / elapsed if elapsed else None
    eta = None
    if job.is_active and elapsed and job.bytes_processed and job.size_bytes:
        eta = elapsed * (job.size_bytes - job.bytes_processed) / job.bytes_processed
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "percent": job.percent,
        "bytes_processed": job.bytes_processed,
        "size_bytes": job.size_bytes,
        "records_processed": job.records_processed,
        "records_per_second": round(rate) if rate else None,
        "eta_seconds": round(eta) if eta is not None else None,
        "elapsed_seconds": round(elapsed, 1) if elapsed is not None else None,
        "error": job.error,
        "report": job.counts or None,
    }


@login_required
def job_status(request, job_id: int):
    return JsonResponse(job_status_payload(_job(request, job_id)))


@login_required
@require_POST
def job_cancel(request, job_id: int):
    try:
        import_job_cancel(user=request.user, job_id=job_id)
    except ImportJob.DoesNotExist as exc:
        raise Http404 from exc
    messages.info(request, "Cancelling the import…")
    return redirect("imports:job", job_id=job_id)
