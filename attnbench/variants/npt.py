"""Non-Parametric Transformer attention (V8): between datapoints (ABD) and attributes (ABA).

Kossen et al., NeurIPS 2021 (code OATML/non-parametric-transformers). NPT's hidden state is
Hdat [n, d, e]: n datapoints, d attributes, e = embedding width per attribute (64 by
default), with 8 heads. Both layers are SDPA on reshaped tensors with a custom ``scale=``.

How a :class:`~attnbench.case.Case` maps onto NPT (one Case = one NPT hidden state, so the
two layers of a Case describe the *same* data and can be compared directly):

* N = n datapoints; H = heads; H·D = d·e, the datapoint width; B = independent NPT
  batches (the reference runs B = 1: the whole dataset or one row minibatch).
* q, k [B, H, N, D] and v [B, H, N, Dv] are the projected datapoints in ABD's head layout:
  head h holds channels h·D ... h·D + D - 1 of the flattened d·e row.
* ``npt.abd``: attention across the N datapoints, per head dim D = d·e/H, scale
  1/√(H·D) = 1/√(d·e) (the reference's Set-Transformer quirk: the standard scale / √H).
  It is exactly SDPA(q, k, v, scale=1/√(H·D)); FLOPs 4·B·N²·(H·D) (= 4n²de), E = B·H·N².
* ``npt.aba``: the same rows viewed as [B·N, d, e] (param ``attributes`` = d, so e = H·D/d),
  with e split into H heads of e/H: attention across the d attributes of each datapoint,
  batch B·N, scale 1/√e. The output is viewed back to [B, H, N, Dv]. FLOPs
  2·B·N·d²·(e + e_v) (= 4nd²e), E = B·N·H·d². Needs d | D and d | Dv (so that e/H is whole).
  The defaults H = 8, D = 64, attributes = 8 give NPT's own e = 64, e/H = 8.

Causal masking is not meaningful: NPT is equivariant to permutations of datapoints (and,
at the kernel level, of attributes).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from attnbench.case import Case
from attnbench.variants.base import (
    Inputs,
    ParamSpec,
    Variant,
    VariantInfo,
    element_size,
    naive_softmax_attention,
)
from attnbench.variants.registry import register
from attnbench.variants.softmax import sdpa_label

CAUSAL_NOTE = "NPT attention is permutation-equivariant over datapoints; no order to mask"
ATTRIBUTES = ParamSpec(
    "attributes", 8, int, "d, attributes per datapoint; e = H*D/d (must divide D)", minimum=1
)


def abd_scale(case_or_width: Case | int) -> float:
    """1/√(d·e) = 1/√(H·D): ABD divides by the full datapoint width."""
    width = (
        case_or_width
        if isinstance(case_or_width, int)
        else case_or_width.heads * case_or_width.head_dim
    )
    return 1.0 / math.sqrt(width)


def to_attributes(t: torch.Tensor, attributes: int) -> torch.Tensor:
    """[B, H, N, D] (ABD head layout) -> [B·N, H, d, e/H] (ABA layout over d attributes)."""
    b, h, n, d = t.shape
    e = h * d // attributes
    rows = t.permute(0, 2, 1, 3).reshape(b * n, attributes, h, e // h)  # [B·N, d, H, e/H]
    return rows.transpose(1, 2)


def from_attributes(t: torch.Tensor, batch: int, heads: int) -> torch.Tensor:
    """Inverse of :func:`to_attributes`: [B·N, H, d, e/H] -> [B, H, N, D]."""
    bn, h, d_attr, eh = t.shape
    n = bn // batch
    rows = t.transpose(1, 2).reshape(batch, n, heads, d_attr * h * eh // heads)
    return rows.permute(0, 2, 1, 3)


def _attribute_problem(case: Case, attributes: int) -> str | None:
    for what, width in (("head_dim", case.head_dim), ("head_dim_v", case.dv)):
        if width % attributes:
            return (
                f"npt.aba needs {what} ({width}) divisible by attributes ({attributes}): "
                f"the H*{what} row is d attributes of e = H*{what}/d channels split in H heads"
            )
    return None


@register(default=True)
class NptAbd(Variant):
    """Attention between datapoints: SDPA over N datapoints with scale 1/√(H·D)."""

    info = VariantInfo(
        name="npt.abd",
        summary="NPT attention between datapoints: SDPA over n, scale 1/sqrt(d*e)",
        memory_complexity="O(N)",
        causal=False,
        causal_note=CAUSAL_NOTE,
        skips_masked=True,
        flops_model="4n^2de = 2BHN^2(D+Dv) with n=N, d*e=H*D",
    )

    def backend(self, inputs: Inputs, case: Case) -> str:
        return sdpa_label(inputs["q"], inputs["k"], inputs["v"], False)

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return F.scaled_dot_product_attention(
            inputs["q"], inputs["k"], inputs["v"], scale=abd_scale(case)
        )

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return naive_softmax_attention(
            inputs["q"], inputs["k"], inputs["v"], False, scale=abd_scale(case)
        )

    def forward_flops(self, case: Case) -> int:
        b, h, n = case.batch, case.heads, case.seq_len
        return 2 * b * h * n * n * (case.head_dim + case.dv)


@register
class NptAba(Variant):
    """Attention between attributes: batch B·N datapoints, sequence d attributes, scale 1/√e."""

    info = VariantInfo(
        name="npt.aba",
        summary="NPT attention between attributes: batch n, sequence d, scale 1/sqrt(e)",
        time_complexity="O(N)",
        memory_complexity="O(N)",
        causal=False,
        causal_note=CAUSAL_NOTE,
        skips_masked=True,
        params=(ATTRIBUTES,),
        flops_model="4nd^2e = 2BNd^2(e+e_v) with n=N, e=H*D/d, e_v=H*Dv/d",
    )

    def unsupported(self, case: Case, device: str | None = None) -> str | None:
        why = super().unsupported(case, device)
        return why or _attribute_problem(case, int(self.param(case, "attributes")))

    def _scale(self, case: Case) -> float:
        e = case.heads * case.head_dim // int(self.param(case, "attributes"))
        return 1.0 / math.sqrt(e)

    def _attend(self, inputs: Inputs, case: Case, reference: bool) -> torch.Tensor:
        d_attr = int(self.param(case, "attributes"))
        q, k, v = (to_attributes(inputs[key], d_attr) for key in ("q", "k", "v"))
        if reference:
            out = naive_softmax_attention(q, k, v, False, scale=self._scale(case))
        else:
            out = F.scaled_dot_product_attention(q, k, v, scale=self._scale(case))
        return from_attributes(out, case.batch, case.heads)

    def backend(self, inputs: Inputs, case: Case) -> str:
        d_attr = int(self.param(case, "attributes"))
        q, k, v = (to_attributes(inputs[key], d_attr) for key in ("q", "k", "v"))
        return sdpa_label(q, k, v, False)

    def forward(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return self._attend(inputs, case, reference=False)

    def reference(self, inputs: Inputs, case: Case) -> torch.Tensor:
        return self._attend(inputs, case, reference=True)

    def forward_flops(self, case: Case) -> int:
        d_attr = int(self.param(case, "attributes"))
        e = case.heads * case.head_dim // d_attr
        e_v = case.heads * case.dv // d_attr
        return 2 * case.batch * case.seq_len * d_attr * d_attr * (e + e_v)

    def exp_count(self, case: Case) -> int:
        """B·N·H·d²: every attribute pair of every datapoint, per head."""
        d_attr = int(self.param(case, "attributes"))
        return case.batch * case.seq_len * case.heads * d_attr * d_attr

    def memory_bytes(self, case: Case) -> int:
        """Reshaped copies of q, k, v and the output (the d×d scores are per datapoint)."""
        b, h, n = case.batch, case.heads, case.seq_len
        d_attr = int(self.param(case, "attributes"))
        el = element_size(case.dtype)
        copies = el * b * h * n * (2 * case.head_dim + 2 * case.dv)
        return copies + 4 * b * n * h * d_attr * d_attr
