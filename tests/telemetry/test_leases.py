import time


def test_shards_are_split_fairly_and_taken_over(make_leases):
    one = make_leases("w1", shards=4, ttl_ms=400)
    assert one.heartbeat() == {0, 1, 2, 3}
    two = make_leases("w2", shards=4, ttl_ms=400)
    assert two.heartbeat() == set()  # all taken; w1 gives back its surplus on its next beat
    assert len(one.heartbeat()) == 2
    assert len(two.heartbeat()) == 2
    assert one.owned.isdisjoint(two.owned)
    # w1 dies (stops beating): after the TTL w2 owns everything.
    time.sleep(0.5)
    assert two.heartbeat() == {0, 1, 2, 3}
    assert one.heartbeat() == set()  # a zombie cannot renew what it lost
