"""Rebuild the annotation subsets in this folder from the full files of
``../shared/data`` (run once by a maintainer; the tests never need ``../shared``).

    python tests/data/make_subset.py [SHARED_DATA]

Keeps the source files' order and formats. ActivityNet: videos of each subset
until every class has an instance in training and in validation, the first
blocked validation videos, the first testing videos and the ids that start with
``v_`` after the BSN prefix. THUMOS: per subset, the videos with the fewest
instances that cover the 20 classes, topped up to a fixed count. Writes the
counts of what it kept to ``counts.json`` (the tests compare loaders against them).
"""
import csv
import json
import os.path as osp
import shutil
import sys

HERE = osp.dirname(osp.abspath(__file__))


def _cover(keys, labels_of, extra=0):
    """Keys (source order) covering every label once, then ``extra`` more."""
    seen, chosen = set(), []
    for k in keys:
        new = set(labels_of(k)) - seen
        if new:
            chosen.append(k)
            seen |= new
    rest = [k for k in keys if k not in chosen][:extra]
    keep = set(chosen) | set(rest)
    return [k for k in keys if k in keep]


def activitynet(src, dst):
    with open(osp.join(src, 'anet_anno_action.json')) as f:
        full = json.load(f)
    with open(osp.join(src, 'video_info_new.csv')) as f:
        rows = list(csv.DictReader(f))
    with open(osp.join(src, 'blocked.json')) as f:
        blocked = set(json.load(f))
    subset_of = {r['video']: r['subset'] for r in rows}
    keys = list(full)
    by_subset = {s: [k for k in keys if subset_of.get(k) == s]
                 for s in ('training', 'validation', 'testing')}
    labels = lambda k: [a['label'] for a in full[k]['annotations']]  # noqa: E731
    keep = set(_cover(by_subset['training'], labels, extra=20))
    keep |= set(_cover(by_subset['validation'], labels, extra=10))
    keep |= set([k for k in by_subset['validation'] if k[2:] in blocked][:5])
    keep |= set(by_subset['testing'][:5])
    keep |= {k for k in keys if k.startswith('v_v_')}
    sub = {k: full[k] for k in keys if k in keep}
    with open(osp.join(dst, 'anet_anno_action.json'), 'w') as f:
        json.dump(sub, f)
    with open(osp.join(dst, 'video_info_new.csv'), 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(r for r in rows if r['video'] in keep)
    for name in ('action_name.csv', 'blocked.json'):
        shutil.copyfile(osp.join(src, name), osp.join(dst, name))
    counts = {}
    for s in ('training', 'validation', 'testing'):
        ks = [k for k in sub if subset_of[k] == s]
        counts[s] = {'videos': len(ks), 'instances': sum(len(sub[k]['annotations']) for k in ks),
                     'classes': len({a for k in ks for a in labels(k)})}
    counts['videos'] = len(sub)
    counts['blocked_in_validation'] = sum(
        1 for k in sub if subset_of[k] == 'validation' and k[2:] in blocked)
    return counts


def thumos(src, dst, per_subset=30):
    with open(osp.join(src, 'thumos14.json')) as f:
        full = json.load(f)
    db = full['database']
    counts, keep = {}, set()
    for s in ('Validation', 'Test'):
        ks = sorted((k for k in db if db[k]['subset'] == s),
                    key=lambda k: len(db[k]['annotations']))  # fewest instances first
        cover = _cover(ks, lambda k: [a['label'] for a in db[k]['annotations']])
        chosen = cover + [k for k in ks if k not in cover][:max(0, per_subset - len(cover))]
        keep |= set(chosen)
    sub = dict(full, database={k: v for k, v in db.items() if k in keep})
    with open(osp.join(dst, 'thumos14.json'), 'w') as f:
        json.dump(sub, f)
    for s in ('Validation', 'Test'):
        ks = [k for k, v in sub['database'].items() if v['subset'] == s]
        counts[s] = {'videos': len(ks),
                     'instances': sum(len(sub['database'][k]['annotations']) for k in ks),
                     'classes': len({a['label'] for k in ks
                                     for a in sub['database'][k]['annotations']})}
    return counts


def main(shared):
    import os
    out = {}
    for name, fn in (('activitynet', activitynet), ('thumos14', thumos)):
        os.makedirs(osp.join(HERE, name), exist_ok=True)
        out[name] = fn(osp.join(shared, name), osp.join(HERE, name))
    for name in ('videos', 'mmaction2_features'):
        os.makedirs(osp.join(HERE, name), exist_ok=True)
        for f in sorted(os.listdir(osp.join(shared, name))):
            shutil.copyfile(osp.join(shared, name, f), osp.join(HERE, name, f))
    with open(osp.join(HERE, 'counts.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else
         osp.join(HERE, '..', '..', '..', 'shared', 'data'))
