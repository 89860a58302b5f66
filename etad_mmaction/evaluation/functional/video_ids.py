"""Video id normalisation shared by ground truth, predictions and block lists."""


def normalize_video_id(video_id) -> str:
    """Return ``video_id`` as ``str`` without one leading ``v_`` (``v_abc`` -> ``abc``).

    ActivityNet ids appear with the ``v_`` prefix in BSN/MMAction2 files and
    without it in the official files; every id is passed through this function
    before being compared.
    """
    video_id = str(video_id)
    return video_id[2:] if video_id.startswith('v_') else video_id
