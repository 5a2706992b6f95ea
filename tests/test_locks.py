"""The database leases that order saves of one S3 resource (``buckets.locks``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from buckets import locks
from buckets.models import ResourceLock

pytestmark = pytest.mark.django_db


def test_a_held_lease_makes_the_next_one_wait_then_refuses():
    with locks.held(1, "b", "k", "object") as name:
        assert ResourceLock.objects.filter(name=name).count() == 1
        with pytest.raises(locks.Busy), locks.held(1, "b", "k", "object", wait=0.2):
            pass
        with locks.held(1, "b", "other", "object"):  # another object: no wait
            pass
    assert not ResourceLock.objects.exists()  # given back


def test_a_lease_whose_holder_died_expires():
    name = locks.lock_name(1, "b", "k", "object")
    ResourceLock.objects.create(name=name, owner="dead", expires_at=timezone.now() - timedelta(seconds=1))
    with locks.held(1, "b", "k", "object", wait=0):
        assert ResourceLock.objects.get(name=name).owner != "dead"


def test_a_resumed_job_takes_back_the_lease_its_dead_worker_held():
    """A worker SIGKILLed inside a bulk step leaves the object's lease for LOCK_LEASE_SECONDS; the run that
    resumes the job must not wait that out (nor count the object failed): the lease is the job's own."""
    holder = "job:1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    name = locks.lock_name(1, "b", "k", "object")
    with locks.held(1, "b", "k", "object", owner=holder):
        stranded = ResourceLock.objects.get(name=name)
    # As a killed worker leaves it: not given back, not expired.
    ResourceLock.objects.create(name=name, owner=stranded.owner, expires_at=stranded.expires_at)
    with pytest.raises(locks.Busy), locks.held(1, "b", "k", "object", wait=0.1):
        pass  # anyone else still waits
    with locks.held(1, "b", "k", "object", owner=holder, wait=0):
        pass
    assert not ResourceLock.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_living_holder_keeps_its_lease_past_its_length(settings):
    """A change that takes longer than the lease (a big object copied part by part) is not joined half way."""
    import time

    with locks.held(1, "b", "big", "object", lease=0.6):
        time.sleep(1.3)  # two lease lengths: renewed meanwhile
        with pytest.raises(locks.Busy), locks.held(1, "b", "big", "object", wait=0):
            pass
    with locks.held(1, "b", "big", "object", wait=0):  # given back at the end
        pass
