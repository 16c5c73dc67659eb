"""torch's ``torch.nn.modules.<file>`` import paths, for layers gputensor defines elsewhere.

gputensor groups layers by family (``normalization`` holds BatchNorm, ``transformer`` holds
MultiheadAttention); code written for torch imports them from torch's file names. Each module
file (real or alias) gets a module-level ``__getattr__`` from here that resolves, lazily, any
name of torch's ``__all__`` for that file from ``gputensor.nn.modules`` - so a layer added later
in any file is found under torch's path with no change here.
"""
from __future__ import annotations

import sys

# torch 2.x: ``torch.nn.modules.<file>.__all__`` (plus names torch code imports by path)
TORCH_ALL: dict[str, tuple] = {
    "activation": ('Threshold', 'ReLU', 'RReLU', 'Hardtanh', 'ReLU6', 'Sigmoid', 'Hardsigmoid',
        'Tanh', 'SiLU', 'Mish', 'Hardswish', 'ELU', 'CELU', 'SELU', 'GLU', 'GELU', 'Hardshrink',
        'LeakyReLU', 'LogSigmoid', 'Softplus', 'Softshrink', 'MultiheadAttention', 'PReLU',
        'Softsign', 'Tanhshrink', 'Softmin', 'Softmax', 'Softmax2d', 'LogSoftmax',),
    "adaptive": ('AdaptiveLogSoftmaxWithLoss',),
    "batchnorm": ('BatchNorm1d', 'LazyBatchNorm1d', 'BatchNorm2d', 'LazyBatchNorm2d',
        'BatchNorm3d', 'LazyBatchNorm3d', 'SyncBatchNorm',),
    "channelshuffle": ('ChannelShuffle',),
    "container": ('Container', 'Sequential', 'ModuleList', 'ModuleDict', 'ParameterList',
        'ParameterDict',),
    "conv": ('Conv1d', 'Conv2d', 'Conv3d', 'ConvTranspose1d', 'ConvTranspose2d',
        'ConvTranspose3d', 'LazyConv1d', 'LazyConv2d', 'LazyConv3d', 'LazyConvTranspose1d',
        'LazyConvTranspose2d', 'LazyConvTranspose3d',),
    "distance": ('PairwiseDistance', 'CosineSimilarity',),
    "dropout": ('Dropout', 'Dropout1d', 'Dropout2d', 'Dropout3d', 'AlphaDropout',
        'FeatureAlphaDropout',),
    "flatten": ('Flatten', 'Unflatten',),
    "fold": ('Fold', 'Unfold',),
    "instancenorm": ('InstanceNorm1d', 'InstanceNorm2d', 'InstanceNorm3d', 'LazyInstanceNorm1d',
        'LazyInstanceNorm2d', 'LazyInstanceNorm3d',),
    "lazy": ('LazyModuleMixin',),
    "linear": ('Bilinear', 'Identity', 'LazyLinear', 'Linear',
        'NonDynamicallyQuantizableLinear',),
    "linear_cross_entropy_options": ('LinearCrossEntropyOptions',),
    "loss": ('L1Loss', 'NLLLoss', 'NLLLoss2d', 'PoissonNLLLoss', 'GaussianNLLLoss', 'KLDivLoss',
        'MSELoss', 'BCELoss', 'BCEWithLogitsLoss', 'HingeEmbeddingLoss', 'MultiLabelMarginLoss',
        'SmoothL1Loss', 'HuberLoss', 'SoftMarginLoss', 'CrossEntropyLoss',
        'LinearCrossEntropyLoss', 'MultiLabelSoftMarginLoss', 'CosineEmbeddingLoss',
        'MarginRankingLoss', 'MultiMarginLoss', 'TripletMarginLoss',
        'TripletMarginWithDistanceLoss', 'CTCLoss',),
    "module": ('register_module_forward_pre_hook', 'register_module_forward_hook',
        'register_module_full_backward_pre_hook', 'register_module_backward_hook',
        'register_module_full_backward_hook', 'register_module_buffer_registration_hook',
        'register_module_module_registration_hook',
        'register_module_parameter_registration_hook', 'Module',),
    "normalization": ('LocalResponseNorm', 'CrossMapLRN2d', 'LayerNorm', 'GroupNorm',
        'RMSNorm',),
    "padding": ('CircularPad1d', 'CircularPad2d', 'CircularPad3d', 'ConstantPad1d',
        'ConstantPad2d', 'ConstantPad3d', 'ReflectionPad1d', 'ReflectionPad2d',
        'ReflectionPad3d', 'ReplicationPad1d', 'ReplicationPad2d', 'ReplicationPad3d',
        'ZeroPad1d', 'ZeroPad2d', 'ZeroPad3d',),
    "pixelshuffle": ('PixelShuffle', 'PixelUnshuffle',),
    "pooling": ('MaxPool1d', 'MaxPool2d', 'MaxPool3d', 'MaxUnpool1d', 'MaxUnpool2d',
        'MaxUnpool3d', 'AvgPool1d', 'AvgPool2d', 'AvgPool3d', 'FractionalMaxPool2d',
        'FractionalMaxPool3d', 'LPPool1d', 'LPPool2d', 'LPPool3d', 'AdaptiveMaxPool1d',
        'AdaptiveMaxPool2d', 'AdaptiveMaxPool3d', 'AdaptiveAvgPool1d', 'AdaptiveAvgPool2d',
        'AdaptiveAvgPool3d',),
    "rnn": ('RNNBase', 'RNN', 'LSTM', 'GRU', 'RNNCellBase', 'RNNCell', 'LSTMCell', 'GRUCell',),
    "sparse": ('Embedding', 'EmbeddingBag',),
    "transformer": ('Transformer', 'TransformerEncoder', 'TransformerDecoder',
        'TransformerEncoderLayer', 'TransformerDecoderLayer',),
    "upsampling": ('Upsample', 'UpsamplingNearest2d', 'UpsamplingBilinear2d',),
    "utils": ('consume_prefix_in_state_dict_if_present',),
}


# private base classes torch code subclasses or tests with isinstance (init loops, custom losses)
TORCH_PRIVATE: dict[str, tuple] = {
    "batchnorm": ("_BatchNorm", "_NormBase"), "conv": ("_ConvNd", "_ConvTransposeNd"),
    "loss": ("_Loss", "_WeightedLoss"), "dropout": ("_DropoutNd",),
    "pooling": ("_MaxPoolNd", "_AvgPoolNd", "_AdaptiveAvgPoolNd", "_AdaptiveMaxPoolNd",
                "_MaxUnpoolNd"),
    "instancenorm": ("_InstanceNorm",), "padding": ("_ConstantPadNd", "_ReflectionPadNd",
                                                    "_ReplicationPadNd", "_CircularPadNd"),
}


def _find(name: str, private: bool):
    """``name`` from the package namespace, or (private names) from any layer file."""
    for pkg in ("gputensor.nn.modules", "gputensor.nn"):
        found = getattr(sys.modules.get(pkg), "__dict__", {}).get(name)
        if found is not None:
            return found
    if private:
        for key, mod in list(sys.modules.items()):
            if key.startswith("gputensor.nn.modules.") and name in getattr(mod, "__dict__", {}):
                return mod.__dict__[name]
    return None


def getattr_for(module_name: str):
    """A module ``__getattr__`` for ``gputensor.nn.modules.<file>`` (PEP 562)."""
    short = module_name.rsplit(".", 1)[-1]
    names = frozenset(TORCH_ALL.get(short, ()))
    private = frozenset(TORCH_PRIVATE.get(short, ()))

    def __getattr__(name: str):
        if name in names or name in private:
            found = _find(name, name in private)
            if found is not None:
                return found
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__

