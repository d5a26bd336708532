"""The idle lock counts a person's input only: the sync every 30 s never keeps a phone
left on a desk open, and the school's idle time is the lead's setting."""

from client.shell import Shell
from tests.client.test_encrypted_store import FakeClock
from tests.client.ui_support import SERVER_URL, Phones, click, synced
from tests.sync_support import School


def test_background_sync_is_not_input_but_a_tap_is(phones: Phones, school: School) -> None:
    clock = FakeClock()
    teacher = phones.sign_in("teacher1", monotonic=clock)
    shell = Shell(teacher, SERVER_URL)
    for _ in range(3):
        clock.now += 200
        click(shell.build(), "refer-save")  # a tap (refused: no student) is input
        assert teacher.signed_in
    for _ in range(3):  # nobody touches it; the app syncs every so often by itself
        clock.now += 120
        teacher.sync_in_background()
    assert not teacher.signed_in  # 6 minutes without input: locked
    assert teacher.session is None or teacher.session.store.is_locked


def test_the_leads_idle_time_reaches_every_phone(phones: Phones, school: School) -> None:
    clock = FakeClock()
    lead = phones.sign_in("lead")
    lead.set_health_rules(idle_lock_minutes=1)
    assert lead.error is None
    synced(lead)
    cleaner = phones.sign_in("cleaner1", monotonic=clock)
    assert cleaner.session is not None and cleaner.session.store.idle_seconds == 60
    clock.now += 50
    cleaner.today_areas()
    assert cleaner.signed_in
    clock.now += 20
    assert not cleaner.signed_in
