"""The suite needs nothing beside the checkout: its real-data fixtures live in
tests/data (small) and no test reads ../shared. CI also runs the suite from a copy
of the checkout in an empty temporary folder (.ci/run)."""
import json
import os
import os.path as osp
import re

TESTS = osp.dirname(osp.abspath(__file__))
DATA = osp.join(TESTS, 'data')


def test_no_test_reads_outside_the_checkout():
    # a path to ../shared written as a string or joined from parts
    pattern = re.compile(r"""['"]\.\./shared|['"]\.\.['"],\s*['"]shared['"]""")
    offenders = []
    for folder, _, files in os.walk(TESTS):
        if osp.abspath(folder) == DATA:  # make_subset.py reads ../shared by design
            continue
        for name in files:
            if name.endswith('.py'):
                with open(osp.join(folder, name), encoding='utf-8') as f:
                    if pattern.search(f.read()):
                        offenders.append(osp.relpath(osp.join(folder, name), TESTS))
    assert offenders == []


def test_fixture_data_is_small_and_consistent():
    total = sum(osp.getsize(osp.join(d, f)) for d, _, fs in os.walk(DATA) for f in fs)
    assert total < 5 * 2 ** 20
    with open(osp.join(DATA, 'counts.json')) as f:
        counts = json.load(f)
    with open(osp.join(DATA, 'activitynet', 'anet_anno_action.json')) as f:
        anet = json.load(f)
    with open(osp.join(DATA, 'activitynet', 'video_info_new.csv')) as f:
        rows = f.read().splitlines()[1:]
    assert len(anet) == len(rows) == counts['activitynet']['videos']
    assert {r.split(',')[0] for r in rows} == set(anet)
