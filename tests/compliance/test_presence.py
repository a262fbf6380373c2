from compliance.engine import presence as p
from compliance.engine.model import RuleFix
from tests.compliance.scenario import at, drive, hours, minutes, stop

SETTINGS = p.PresenceSettings()


def run_ban(fixes, exempt=False):
    state = p.NightBan()
    opened = [e for e in (p.night_ban_step(state, f, exempt, SETTINGS) for f in fixes) if e]
    return opened, state


def test_coach_driving_at_night_is_one_episode_per_night():
    fixes = drive(at(21, 1, 30), hours(1))           # 01:30–02:30: 30 min inside the window
    fixes += stop(fixes[-1].time, minutes(30))        # 02:30–03:00 stopped
    fixes += drive(at(21, 3), minutes(20))[1:]        # 03:00–03:20 driving again
    fixes += drive(at(21, 5, 30), minutes(5))         # after the window: closes the episode
    opened, state = run_ban(fixes)
    assert [e.start for e in opened] == [at(21, 2)]
    [episode] = state.closed
    assert episode.end == at(21, 3, 20)


def test_exempt_line_and_driving_outside_the_window():
    assert run_ban(drive(at(21, 2, 10), minutes(30)), exempt=True)[0] == []
    assert run_ban(drive(at(21, 5), minutes(30)))[0] == []
    assert run_ban(drive(at(21, 1), minutes(59)))[0] == []
    assert len(run_ban(drive(at(21, 4, 59), minutes(5)))[0]) == 1  # 04:59:00–05:00 counts


def test_restricted_zone_visits():
    state = p.RestrictedZones()
    f = [RuleFix(at(20, 8, m), 122.0, 41.1, 30.0) for m in range(5)]
    assert [e.measured["zone_id"] for e in p.restricted_zone_step(state, f[0], {7})] == [7]
    assert p.restricted_zone_step(state, f[1], {7}) == []
    assert p.restricted_zone_step(state, f[2], set()) == []   # left the zone
    [episode] = state.closed
    assert (episode.start, episode.end) == (at(20, 8, 0), at(20, 8, 2))
    assert len(p.restricted_zone_step(state, f[3], {7})) == 1  # a new visit, a new episode


def test_offline_in_service():
    moving = RuleFix(at(20, 8), 122.0, 41.1, 40.0)
    parked = RuleFix(at(20, 8), 122.0, 41.1, 0.0)
    back = RuleFix(at(20, 8, 10, 1), 122.1, 41.1, 40.0)
    exactly_ten = RuleFix(at(20, 8, 10), 122.1, 41.1, 40.0)
    episode = p.offline_in_service(moving, back, False, SETTINGS)
    assert episode is not None and episode.start == at(20, 8) and episode.end == back.time
    assert p.offline_in_service(moving, exactly_ten, False, SETTINGS) is None
    assert p.offline_in_service(parked, back, False, SETTINGS) is None
    assert p.offline_in_service(parked, back, True, SETTINGS) is not None  # on a waybill
