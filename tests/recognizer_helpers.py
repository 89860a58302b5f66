"""A tiny stock MMAction2 recognizer (TSM-ResNet18, 2 segments) for tests that need
one: feature extraction and recognizer-labelled inference."""


def tiny_tsm_recognizer(num_classes, mean, std):
    """``model`` config of a ``Recognizer2D`` with a ``ResNetTSM`` depth 18 backbone."""
    return dict(type='Recognizer2D',
                backbone=dict(type='ResNetTSM', depth=18, num_segments=2, pretrained=None),
                cls_head=dict(type='TSMHead', num_classes=num_classes, in_channels=512,
                              num_segments=2),
                data_preprocessor=dict(type='ActionDataPreprocessor', mean=mean, std=std,
                                       format_shape='NCHW'))
