#!/usr/bin/python3
"""Writes the fixtures TorchVisionWeightsTests compares against, all made by PyTorch + torchvision.

Run with Debian's interpreter (python3-torch, python3-torchvision):  /usr/bin/python3 make_torchvision_state.py OUT

OUT/resnet18.pth          resnet18 state_dict (random init, seed 0) exactly as torch.save writes it (~45 MB, so
                          generated at test time rather than committed)
OUT/resnet18_io.pth       {"input": 2x3x64x64 batch, "logits": resnet18's eval-mode output for it}
OUT/mobilenet_v2.pth, OUT/mobilenet_v2_io.pth   the same for mobilenet_v2 (seed 1, ~14 MB)
OUT/resnet18_dp.pth       the same state_dict with DataParallel's "module." prefix on every key
OUT/resnet18_badshape.pth the state_dict with layer1.0.conv1.weight cut to 32 output channels
OUT/keys.txt              "arch key d0xd1x..." for every state_dict entry of each architecture Forge builds
OUT/small_checkpoint.pth  {"epoch": 3, "state_dict": <conv+bn state_dict>}, the way training scripts save checkpoints
OUT/legacy.pth            a state_dict in the pre-1.6 (non-zip) torch.save format
OUT/tensor.pth            a single tensor, not a dict
"""
import collections
import os
import sys

import torch
import torchvision

ARCHITECTURES = ["resnet18", "resnet34", "resnet50", "mobilenet_v2"]


def save_with_logits(out, arch, seed):
    """Saves OUT/ARCH.pth and OUT/ARCH_io.pth; returns the state dict."""
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(num_classes=1000)
    # Random init leaves running_mean/var at 0/1, which would let a loader that skips buffers pass; fill them.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)
    model.eval()
    state = model.state_dict()
    torch.save(state, os.path.join(out, f"{arch}.pth"))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = model(x)
    torch.save({"input": x, "logits": logits}, os.path.join(out, f"{arch}_io.pth"))
    return state


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    state = save_with_logits(out, "resnet18", seed=0)
    save_with_logits(out, "mobilenet_v2", seed=1)

    torch.save({"module." + k: v for k, v in state.items()}, os.path.join(out, "resnet18_dp.pth"))

    bad = dict(state)
    bad["layer1.0.conv1.weight"] = bad["layer1.0.conv1.weight"][:32].clone()
    torch.save(bad, os.path.join(out, "resnet18_badshape.pth"))

    small = torch.nn.Sequential(collections.OrderedDict(conv=torch.nn.Conv2d(3, 4, 3), bn=torch.nn.BatchNorm2d(4)))
    torch.save({"epoch": 3, "state_dict": small.state_dict()}, os.path.join(out, "small_checkpoint.pth"))
    torch.save(small.state_dict(), os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(torch.arange(6.0), os.path.join(out, "tensor.pth"))

    with open(os.path.join(out, "keys.txt"), "w", encoding="ascii") as f:
        for arch in ARCHITECTURES:
            for k, v in getattr(torchvision.models, arch)().state_dict().items():
                f.write(f"{arch} {k} {'x'.join(str(d) for d in v.shape)}\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_torchvision_state.py OUT")
    main(sys.argv[1])
