import pytest
from django.urls import reverse

from buckets.models import Bucket
from console.models import AuditEvent


@pytest.mark.django_db
def test_sync_and_list(admin_client, endpoint, make_bucket):
    name = make_bucket("smoke")
    response = admin_client.post(reverse("bucket_sync", args=[endpoint.pk]))
    assert response.status_code == 302
    assert Bucket.objects.filter(endpoint=endpoint, name=name).exists()
    page = admin_client.get(reverse("bucket_list"))
    assert name in page.content.decode()
    assert AuditEvent.objects.filter(action="buckets.sync", outcome="ok").exists()
