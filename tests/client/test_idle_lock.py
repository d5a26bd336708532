"""The idle lock counts a person's input only: the sync every 30 s never keeps a phone
left on a desk open, and the school's idle time is the lead's setting."""

from client.shell import Shell
from tests.client.test_encrypted_store import FakeClock
from tests.client.ui_support import SERVER_URL, Phones, click, has, synced, type_into
from tests.factories import PASSWORD
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


def test_a_blocked_phone_wipes_every_persons_data_on_it(phones: Phones, school: School) -> None:
    """Two people share a phone; the lead blocks it; the first of them to reach the
    server takes everyone's data of that school off the phone, not only their own."""
    shared = phones.start()
    shared.sign_in(SERVER_URL, "teacher1", PASSWORD)
    assert shared.error is None
    shared.lock()
    shared.sign_in(SERVER_URL, "cleaner1", PASSWORD)
    assert shared.error is None
    assert {u.profile.username for u in shared.phone_users()} == {"teacher1", "cleaner1"}

    lead = phones.sign_in("lead")
    lead.load_devices()
    assert lead.known_devices is not None
    phone = next(d for d in lead.known_devices if d["device_id"] == shared.users.device_id)
    lead.revoke_device(phone["device_id"])
    assert lead.error is None

    shared.sync_now()
    assert shared.error is not None and shared.error.code == "device_revoked"
    assert shared.session is None
    assert shared.phone_users() == []  # teacher1's data went too
    shared.sign_in(SERVER_URL, "teacher1", PASSWORD)  # and the phone cannot sign in again
    assert shared.error is not None and shared.error.code == "device_revoked"
    assert shared.phone_users() == []


def test_a_person_sets_a_pin_and_unlocks_with_it(phones: Phones, school: School) -> None:
    teacher = phones.sign_in("teacher1")
    shell = Shell(teacher, SERVER_URL)
    click(shell.build(), "set-pin")
    tree = shell.build()
    type_into(tree, "pin-new", "123456")
    type_into(tree, "pin-again", "123465")
    click(tree, "pin-save")
    assert teacher.error is not None and teacher.error.code == "pin_mismatch"
    tree = shell.build()
    type_into(tree, "pin-new", "1234")
    type_into(tree, "pin-again", "1234")
    click(tree, "pin-save")
    assert teacher.error is not None and teacher.error.code == "invalid_pin"
    tree = shell.build()
    type_into(tree, "pin-new", "246810")
    type_into(tree, "pin-again", "246810")
    click(tree, "pin-save")
    assert teacher.error is None and teacher.notice == "ui.saved.pin"
    assert not has(shell.build(), "pin-panel")
    teacher.lock()
    [me] = teacher.phone_users()
    teacher.unlock(me, "246810", "pin")
    assert teacher.error is None and teacher.signed_in
