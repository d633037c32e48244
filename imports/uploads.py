from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler


class CappedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Every upload streams to a temporary file (never whole in memory), and stops as
    soon as it passes the largest accepted import."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > max(
            settings.IMPORT_MAX_ZIP_BYTES, settings.IMPORT_MAX_XML_BYTES
        ):
            self.file.close()
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)
