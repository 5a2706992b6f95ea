"""An endpoint that accepts the connection and never answers: every page answers within its S3 budget."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.urls import reverse

from buckets.models import Bucket
from buckets.s3.threads import Threads
from console.models import Endpoint
from tests.job_processes import wait_for
from tests.objects_fixtures import section_url, url

BUDGET = 1.5
# Without the budget these pages would wait for the socket's read timeout (S3_READ_TIMEOUT, 30 s)
# for each call; the slack covers a loaded CI machine, not a second call's wait.
SLACK = 6.0


@pytest.fixture
def silent_endpoint(db):
    """A loopback server that accepts every connection, reads, and never writes a byte back."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)  # kept open, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    ep = Endpoint(name="silent", url=f"http://127.0.0.1:{server.getsockname()[1]}", addressing_style="path")
    ep.credential_source = Endpoint.CredentialSource.KEYS
    ep.access_key_id = "AKIASILENT"
    ep.set_secret_access_key("silent-secret")
    ep.save()
    Bucket.objects.create(endpoint=ep, name="hung")
    yield ep
    stop.set()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def short_budget(settings):
    settings.S3_PAGE_BUDGET = BUDGET


def _timed(client, target, **extra):
    started = time.monotonic()
    response = client.get(target, **extra)
    return response, time.monotonic() - started


def _answered(response, took: float, status: int, message: str) -> None:
    text = response.content.decode()
    assert response.status_code == status, text[-2000:]
    assert message in text, text[text.find("<main") :][:3000]
    assert took < BUDGET + SLACK, took


def test_pages_answer_within_the_budget(admin_client, silent_endpoint, short_budget):
    message = f"did not answer within {BUDGET:g} s"
    listing, took = _timed(admin_client, url("object_list", silent_endpoint, "hung"))
    _answered(listing, took, 200, message)

    # The object page makes several S3 calls: one budget for all of them, then an error page (no 500).
    page, took = _timed(admin_client, url("object_detail", silent_endpoint, "hung", key="a.txt"))
    _answered(page, took, 504, message)

    # A bucket section (htmx partial): the message where the section's content would be.
    setting = reverse("bucket_setting", args=[silent_endpoint.pk, "hung", "versioning"])
    part, took = _timed(admin_client, setting, HTTP_HX_REQUEST="true")
    _answered(part, took, 200, message)

    # An object section fetched alone, and an htmx request whose error goes to the flash area.
    part, took = _timed(
        admin_client, section_url("show", "tags", silent_endpoint, "hung", key="a.txt"), HTTP_HX_REQUEST="true"
    )
    assert message in part.content.decode() and took < BUDGET + SLACK


def test_the_bucket_page_does_not_wait_long_for_an_endpoint_that_never_answers(
    admin_client, silent_endpoint, short_budget
):
    """The page waits INLINE_WAIT for its sections, then comes with them left to htmx; the next page
    does not wait at all; the sections' own request says what happened within the budget."""
    from buckets.views import section_reads, sections

    page_url = reverse("bucket_detail", args=[silent_endpoint.pk, "hung"])
    all_url = reverse("bucket_settings_all", args=[silent_endpoint.pk, "hung"])
    page, took = _timed(admin_client, page_url)
    assert page.status_code == 200 and f'hx-get="{all_url}"' in page.content.decode()
    assert sections.INLINE_WAIT <= took < sections.INLINE_WAIT + SLACK / 2, took
    readers = section_reads.readers_for
    section_reads.readers_for = None  # the next page must not start a read at all (it would fail here)
    try:
        again = admin_client.get(page_url)
    finally:
        section_reads.readers_for = readers
    assert again.status_code == 200 and f'hx-get="{all_url}"' in again.content.decode()
    cards, took = _timed(admin_client, all_url, HTTP_HX_REQUEST="true")
    _answered(cards, took, 200, f"did not answer within {BUDGET:g} s")


def test_an_endpoint_that_never_answers_leaves_the_other_endpoints_their_threads(
    admin_client, silent_endpoint, short_budget, endpoint, make_bucket, settings
):
    """People reloading a hung endpoint's cards (a dozen reads each) do not take every thread of the S3
    pool: once ABANDONED_MOST of its calls are left unanswered it is asked nothing more, with a clear
    message at once, and a healthy endpoint's page in the same process still lists. Before, the eighth
    reload found the pool's 64 threads all waiting on the hung endpoint, and every page of every endpoint
    said it "did not answer" until their sockets timed out (up to two minutes)."""
    from buckets.s3 import budget

    calm = make_bucket("calm")
    Bucket.objects.create(endpoint=endpoint, name=calm)
    cards_url = reverse("bucket_settings_all", args=[silent_endpoint.pk, "hung"])
    first, took = _timed(admin_client, cards_url, HTTP_HX_REQUEST="true")
    _answered(first, took, 200, f"did not answer within {BUDGET:g} s")
    for _ in range(8):
        cards, took = _timed(admin_client, cards_url, HTTP_HX_REQUEST="true")
        _answered(cards, took, 200, "earlier calls unanswered, so the console asks it nothing more until they end")
        assert took < BUDGET  # at once: no thread, no wait
    assert budget._share(budget.endpoint_key(silent_endpoint)).abandoned >= budget.ABANDONED_MOST
    # The healthy endpoint's page gets a budget a loaded machine cannot miss (its first page also makes its
    # client): with the pool taken by the hung calls it would still fail, as they hold it for 30 s or more.
    settings.S3_PAGE_BUDGET = BUDGET + SLACK
    listing, took = _timed(admin_client, url("object_list", endpoint, calm))
    _answered(listing, took, 200, "This bucket is empty.")


def test_calls_to_a_hung_endpoint_take_only_its_share_of_the_pool(silent_endpoint, endpoint, make_bucket, monkeypatch):
    """Many calls at once to an endpoint that never answers (before any has outlived its budget) take
    ENDPOINT_MOST of the pool's threads; the others wait their turn, so a healthy endpoint's call made
    meanwhile gets a thread and its answer. Before, the hung endpoint's calls took every thread."""
    from buckets import s3
    from buckets.s3 import budget

    monkeypatch.setattr(budget, "_executor", Threads(most=12))
    monkeypatch.setattr(budget, "ENDPOINT_MOST", 8)
    calm = make_bucket("calm")
    s3.client_for(endpoint)  # made first: making a client on a loaded machine may take a while
    failed = []

    def hang():
        with s3.time_budget(6):
            try:
                s3.get_bucket_versioning(endpoint=silent_endpoint, bucket="hung")
            except s3.S3Error as exc:
                failed.append(exc.code)

    callers = [threading.Thread(target=hang) for _ in range(20)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 3
    while budget._executor.threads < 8 and time.monotonic() < deadline:  # the hung calls are on the pool
        time.sleep(0.01)
    assert budget._executor.threads == 8
    with s3.time_budget(3):  # without the share, this waits for a thread until the hung calls give up (6 s)
        assert s3.get_bucket_versioning(endpoint=endpoint, bucket=calm)["status"] == ""  # never enabled
    for caller in callers:
        caller.join()
    assert failed == ["EndpointTimeout"] * 20


def test_a_hung_endpoint_s_section_reads_do_not_delay_another_endpoint_s_bucket_page(
    admin_client, silent_endpoint, endpoint, make_bucket, monkeypatch
):
    """Bucket pages of an endpoint that never answers, opened while their reads still wait (within one
    budget), fill only that endpoint's readers: a healthy endpoint's bucket page meanwhile arrives with
    every card filled. With one pool for all, its reads queued behind the hung ones for their budget."""
    from buckets import s3
    from buckets.models import Bucket
    from buckets.services.sections import Target
    from buckets.views import section_reads, sections

    monkeypatch.setattr(sections, "INLINE_WAIT", 3)  # the healthy page waits for its reads, up to 3 s
    calm = make_bucket("calm")
    Bucket.objects.create(endpoint=endpoint, name=calm)
    specs = list(sections.SECTIONS_OF["bucket"])
    for _ in range(4):  # four pages' worth: 64 reads, more than every reader a process had before
        with s3.time_budget(8):
            assert section_reads.read_states(specs, Target(silent_endpoint, "hung"), wait=0.01) is None
    page = admin_client.get(reverse("bucket_detail", args=[endpoint.pk, calm]))
    assert page.status_code == 200 and "setting loading" not in page.content.decode()  # filled


def test_a_timed_out_save_is_audited_as_failed(admin_client, silent_endpoint, short_budget):
    from console.models import AuditEvent

    save = reverse("bucket_setting_save", args=[silent_endpoint.pk, "hung", "versioning"])
    answer, took = _timed(admin_client, save, HTTP_HX_REQUEST="true")  # GET: 405, no S3 call at all
    assert answer.status_code == 405
    started = time.monotonic()
    answer = admin_client.post(save, {"status": "Enabled"}, HTTP_HX_REQUEST="true")
    assert time.monotonic() - started < BUDGET + SLACK
    assert f"did not answer within {BUDGET:g} s" in answer.content.decode()
    event = AuditEvent.objects.get(action="bucket.versioning.put")
    assert event.outcome == "failed" and event.error_code == "EndpointTimeout"


def test_a_write_sent_before_the_budget_ended_is_not_called_failed_for_sure(
    admin_client, seaweed, s3client, make_bucket, settings
):
    """The endpoint takes the tags but answers after the page's budget: S3 holds them a moment later,
    so the page may not say the save failed; it says the change may still be made."""
    import re
    from html import unescape

    from console.models import AuditEvent
    from tests.bucket_helpers import seaweed_endpoint
    from tests.job_processes import Proxy

    bucket = make_bucket("late")
    s3client.put_object(Bucket=bucket, Key="doc.txt", Body=b"x")
    with Proxy(seaweed.url) as proxy:
        ep = seaweed_endpoint(seaweed, "late", proxy.url)
        htmx = {"HTTP_HX_REQUEST": "true"}
        form = admin_client.get(section_url("edit", "tags", ep, bucket, key="doc.txt"), **htmx).content.decode()
        seen = unescape(re.search(r'name="seen" value="([^"]*)"', form).group(1))
        # Only the save has the short budget: the form's read on a loaded machine may take longer.
        settings.S3_PAGE_BUDGET = BUDGET
        proxy.rules.delay = lambda op, path: BUDGET + 1.0 if op == "PutObjectTagging" else 0.0
        answer = admin_client.post(
            section_url("save", "tags", ep, bucket),
            {"key": "doc.txt", "seen": seen, "tag_key": ["team"], "tag_value": ["ops"]},
            **htmx,
        )
        text = unescape(answer.content.decode())
        assert f"did not answer within {BUDGET:g} s" in text
        assert "The change was sent and may still be made" in text and "saved" not in text.lower()
        event = AuditEvent.objects.get(action="object.tags.put")
        assert event.outcome == "failed" and "may still be made" in event.error_message
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not s3client.get_object_tagging(Bucket=bucket, Key="doc.txt")["TagSet"]:
            time.sleep(0.2)
        assert s3client.get_object_tagging(Bucket=bucket, Key="doc.txt")["TagSet"] == [{"Key": "team", "Value": "ops"}]


@pytest.mark.parametrize("most", [64, 3])
def test_calls_made_together_under_a_budget_run_together(most):
    """Each call gets a thread of its own when it is submitted (up to the pool's most; past that, the next
    one free): calls made at once by a page's readers never queue behind each other's answers."""
    pool = Threads(most=most)
    for together in [min(n, most) for n in (2, 4, 8, 12, 12)]:  # each round finds the last one's threads idle
        barrier = threading.Barrier(together, timeout=5)
        calls = [pool.submit(barrier.wait) for _ in range(together)]
        assert sorted(call.result(timeout=10) for call in calls) == list(range(together))
    more = [pool.submit(time.sleep, 0.05) for _ in range(4 * most)]  # past the most: each still runs
    assert [call.result(timeout=30) for call in more] == [None] * len(more)
    assert pool.threads <= most


def test_threads_idle_past_their_time_end_and_new_calls_get_new_ones():
    """A process that served a busy minute, or met many endpoints, does not keep their threads for its life:
    idle ones end (here after 50 ms), and the next calls get threads again, each its own."""
    pool = Threads(most=8, name="shrink", idle_seconds=0.05)
    barrier = threading.Barrier(6, timeout=5)
    assert sorted(f.result(timeout=10) for f in [pool.submit(barrier.wait) for _ in range(6)]) == list(range(6))
    assert pool.threads == 6
    wait_for(lambda: pool.threads == 0, 10, "the idle threads to end", every=0.01)
    assert not [t for t in threading.enumerate() if t.name.startswith("shrink-")]
    barrier = threading.Barrier(3, timeout=5)
    assert sorted(f.result(timeout=10) for f in [pool.submit(barrier.wait) for _ in range(3)]) == list(range(3))


def test_no_call_is_lost_while_threads_end_and_start():
    """Calls submitted from many threads while idle threads keep ending (1 ms idle): every call runs once,
    and the pool never holds more than its most."""
    pool = Threads(most=4, name="churn", idle_seconds=0.001)
    ran: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            ran.append(n)
        if n % 7 == 0:
            time.sleep(0.002)  # some calls outlast the idle time of the others
        return n

    futures: list = []

    def submitter(start: int) -> None:
        for n in range(start, start + 300):
            futures.append(pool.submit(work, n))
            if n % 50 == 0:
                time.sleep(0.005)  # the pool goes idle now and then

    submitters = [threading.Thread(target=submitter, args=(i * 1000,)) for i in range(6)]
    for t in submitters:
        t.start()
    for t in submitters:
        t.join()
    assert sorted(f.result(timeout=20) for f in futures) == sorted(ran) and len(ran) == 1800
    assert pool.threads <= 4
    wait_for(lambda: (pool.threads, pool.idle, pool.waiting) == (0, 0, 0), 10, "every thread to end", every=0.01)


def test_a_thread_whose_idle_time_ends_as_a_call_is_given_to_it_takes_the_call():
    """The race the idle end must lose: the wait of an idle thread times out just as a call is given to it
    (counted on it, put in the queue). The thread takes the call instead of ending with it unanswered."""
    import queue

    class TimesOutAsTheCallComes(queue.SimpleQueue):
        armed = False

        def get(self, block=True, timeout=None):
            item = super().get(block, timeout)
            if self.armed:
                self.armed = False
                self.put(item)
                raise queue.Empty
            return item

    pool = Threads(most=1, name="race", idle_seconds=30)
    pool.queue = TimesOutAsTheCallComes()
    assert pool.submit(lambda: "first").result(timeout=5) == "first"
    wait_for(lambda: pool.idle == 1, 5, "the thread to be idle", every=0.01)
    pool.queue.armed = True
    assert pool.submit(lambda: "second").result(timeout=5) == "second"
    assert pool.threads == 1
