"""The one place attnbench talks to NVML (package ``nvidia-ml-py``, imported as ``pynvml``).

Everything NVML can fail with is turned into a :class:`NvmlProblem` here — a stable code, a
sentence a user understands, and the fix — so the rest of attnbench never inspects NVML
errors. Tests substitute a fake module at the import boundary: :func:`_load_pynvml` (or the
``module`` argument of :class:`NvmlSession`).

Devices are matched to torch's CUDA devices by UUID, falling back to the PCI bus id; never by
index, since NVML enumerates in PCI order while CUDA does not unless
``CUDA_DEVICE_ORDER=PCI_BUS_ID``, and ``CUDA_VISIBLE_DEVICES`` renumbers only torch's side.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

LIBRARY_NOT_FOUND_REASON = "NVML library not found (no NVIDIA driver on this machine)"

# NVML return codes (nvml.h; identical in every pynvml release).
_ERR_UNINITIALIZED = 1
_ERR_NOT_SUPPORTED = 3
_ERR_NO_PERMISSION = 4
_ERR_NOT_FOUND = 6
_ERR_DRIVER_NOT_LOADED = 9
_ERR_LIBRARY_NOT_FOUND = 12
_ERR_FUNCTION_NOT_FOUND = 13
_ERR_GPU_IS_LOST = 15
_ERR_OPERATING_SYSTEM = 17
_ERR_LIB_RM_VERSION_MISMATCH = 18
_ERR_GPU_NOT_FOUND = 28

_FIX_DRIVER = "install the NVIDIA driver, or run with power.enabled: auto|off"


@dataclass(frozen=True)
class NvmlProblem:
    """Why NVML (or one NVML query) cannot be used.

    Attributes:
        code: stable uppercase code (``NVML_LIBRARY_NOT_FOUND``, ``NVML_MIG_ENABLED``...).
        reason: one sentence for a user.
        fix: what to do about it.
    """

    code: str
    reason: str
    fix: str = ""

    def message(self) -> str:
        """``reason`` followed by the fix, for error messages."""
        return f"{self.reason}; fix: {self.fix}" if self.fix else self.reason


class NvmlUnavailable(Exception):
    """NVML cannot be used here; ``problem`` says why."""

    def __init__(self, problem: NvmlProblem) -> None:
        self.problem = problem
        super().__init__(problem.message())


_BY_CODE: dict[int, tuple[str, str, str]] = {
    _ERR_LIBRARY_NOT_FOUND: ("NVML_LIBRARY_NOT_FOUND", LIBRARY_NOT_FOUND_REASON, _FIX_DRIVER),
    _ERR_DRIVER_NOT_LOADED: (
        "NVML_DRIVER_NOT_LOADED",
        "the NVIDIA kernel driver is not loaded",
        "load the driver (nvidia-smi should work) or reboot",
    ),
    _ERR_LIB_RM_VERSION_MISMATCH: (
        "NVML_VERSION_MISMATCH",
        "NVML library and NVIDIA driver versions do not match (driver/library version mismatch)",
        "reboot after a driver upgrade, or reinstall the driver",
    ),
    _ERR_NO_PERMISSION: (
        "NVML_NO_PERMISSION",
        "NVML refused the query (insufficient permissions)",
        "run with access to /dev/nvidia* (container: --gpus all) or as a privileged user",
    ),
    _ERR_NOT_SUPPORTED: (
        "NVML_NOT_SUPPORTED",
        "not supported by this GPU or driver",
        "use a Volta-or-newer GPU with a recent driver",
    ),
    _ERR_FUNCTION_NOT_FOUND: (
        "NVML_NOT_SUPPORTED",
        "the installed driver lacks this NVML function (driver too old)",
        "upgrade the NVIDIA driver",
    ),
    _ERR_NOT_FOUND: ("NVML_NO_DEVICE", "no such GPU visible to NVML", "check nvidia-smi"),
    _ERR_GPU_NOT_FOUND: ("NVML_NO_DEVICE", "no such GPU visible to NVML", "check nvidia-smi"),
    _ERR_GPU_IS_LOST: (
        "NVML_GPU_LOST",
        "the GPU fell off the bus (NVML: GPU is lost)",
        "check dmesg; the GPU needs a reset",
    ),
    _ERR_OPERATING_SYSTEM: (
        "NVML_OS_BLOCKED",
        "the operating system blocked access to the GPU (NVML_ERROR_OPERATING_SYSTEM: "
        "cgroup or container device rules)",
        "run inside the job's GPU allocation, or ask for access to that GPU's /dev/nvidia*",
    ),
    _ERR_UNINITIALIZED: ("NVML_ERROR", "NVML is not initialised", "report this as a bug"),
}


def classify_error(exc: BaseException) -> NvmlProblem:
    """Map any NVML failure (or a missing pynvml) to a :class:`NvmlProblem`.

    Args:
        exc: an ``NVMLError`` (its ``value`` is the NVML return code), an ``ImportError``
            or an ``OSError`` from loading the shared library.

    Returns:
        The classified problem; unknown failures become ``NVML_ERROR`` with the text.
    """
    if isinstance(exc, NvmlUnavailable):
        return exc.problem
    if isinstance(exc, ImportError):
        return NvmlProblem(
            "NVML_NOT_INSTALLED",
            "the nvidia-ml-py package (pynvml) is not installed",
            "pip install nvidia-ml-py",
        )
    code = getattr(exc, "value", None)
    if isinstance(code, int) and code in _BY_CODE:
        name, reason, fix = _BY_CODE[code]
        return NvmlProblem(name, reason, fix)
    if isinstance(exc, OSError):
        return NvmlProblem("NVML_LIBRARY_NOT_FOUND", LIBRARY_NOT_FOUND_REASON, _FIX_DRIVER)
    return NvmlProblem("NVML_ERROR", f"NVML error: {exc}", "")


MIG_PROBLEM = NvmlProblem(
    "NVML_MIG_ENABLED",
    "MIG mode is enabled: NVML does not expose per-instance power or energy",
    "measure on a GPU with MIG disabled (nvidia-smi -mig 0)",
)
NO_DEVICE_PROBLEM = NvmlProblem("NVML_NO_DEVICE", "NVML sees no NVIDIA GPU", "check nvidia-smi")


def _load_pynvml() -> Any:
    """Import the real ``pynvml``; tests replace this function with one returning a fake."""
    import pynvml

    return pynvml


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def normalize_uuid(value: Any) -> str:
    """A GPU UUID as 32 lowercase hex digits, whatever its source.

    Accepts NVML's ``GPU-xxxxxxxx-xxxx-...`` (str or bytes), torch's ``props.uuid`` (an object
    whose ``str`` is the dashed hex, with or without ``GPU-``, or that has ``.bytes``), or raw
    16 bytes. Returns ``""`` when nothing usable is given.
    """
    if value is None:
        return ""
    raw = getattr(value, "bytes", None)  # torch's _CUuuid: bytes or a list of 16 ints
    if isinstance(raw, (bytes, bytearray, list, tuple)) and len(raw) == 16:
        return bytes(raw).hex()
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        try:
            text = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return bytes(value).hex()
        if not re.fullmatch(r"[0-9a-fA-F-]{16}", text):
            return bytes(value).hex()
    text = _text(value).strip().lower()
    for prefix in ("gpu-", "mig-"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return re.sub(r"[^0-9a-f]", "", text)


_PCI = re.compile(r"([0-9a-f]+):([0-9a-f]+):([0-9a-f]+)(?:\.([0-9a-f]+))?")


def normalize_pci_bus_id(value: Any) -> tuple[int, int, int, int] | None:
    """``(domain, bus, device, function)`` from ``00000000:17:00.0`` or ``0000:17:00.0``."""
    if value is None:
        return None
    m = _PCI.search(_text(value).strip().lower())
    if not m:
        return None
    return (int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16), int(m.group(4) or 0))


def torch_pci_bus_id(props: Any) -> tuple[int, int, int, int] | None:
    """The PCI address torch reports for a device (``pci_domain_id``... where present)."""
    parts = [getattr(props, f"pci_{k}_id", None) for k in ("domain", "bus", "device")]
    if any(not isinstance(p, int) for p in parts):
        return None
    return (int(parts[0]), int(parts[1]), int(parts[2]), 0)  # type: ignore[arg-type]


def match_device(
    uuid: Any,
    pci: tuple[int, int, int, int] | None,
    candidates: Sequence[tuple[str, tuple[int, int, int, int] | None]],
) -> int | None:
    """Position in ``candidates`` of the device with this UUID (else this PCI address).

    Args:
        uuid: torch's UUID (any form :func:`normalize_uuid` accepts).
        pci: torch's PCI address, or None.
        candidates: ``(normalised uuid, pci address)`` per NVML device, in NVML order.

    Returns:
        The NVML index, or None when neither identifier matches (never guessed by index).
    """
    want = normalize_uuid(uuid)
    if want:
        for i, (cand_uuid, _) in enumerate(candidates):
            if cand_uuid and cand_uuid == want:
                return i
    if pci is not None:
        # torch gives no PCI function number: compare domain, bus and device only.
        for i, (_, cand_pci) in enumerate(candidates):
            if cand_pci is not None and cand_pci[:3] == pci[:3]:
                return i
    return None


class NvmlSession:
    """An initialised NVML: ``with NvmlSession() as s: ...`` (nvmlShutdown on exit).

    Raises :class:`NvmlUnavailable` on entry when NVML cannot be initialised.
    """

    def __init__(self, module: Any = None) -> None:
        self._module = module
        self.nv: Any = None
        self._open = False

    def open(self) -> NvmlSession:
        """Import pynvml and call ``nvmlInit``.

        Raises:
            NvmlUnavailable: pynvml missing, library missing, driver problems.
        """
        try:
            nv = self._module if self._module is not None else _load_pynvml()
            nv.nvmlInit()
        except Exception as exc:  # NVMLError, ImportError, OSError
            raise NvmlUnavailable(classify_error(exc)) from exc
        self.nv = nv
        self._open = True
        return self

    def close(self) -> None:
        """``nvmlShutdown``; safe to call twice and never raises."""
        if self._open:
            self._open = False
            with contextlib.suppress(Exception):  # shutdown failures are not actionable
                self.nv.nvmlShutdown()

    def __enter__(self) -> NvmlSession:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def call(self, fn_name: str, *args: Any) -> Any:
        """Call ``pynvml.<fn_name>(*args)``; NVML errors become :class:`NvmlUnavailable`."""
        try:
            return getattr(self.nv, fn_name)(*args)
        except AttributeError as exc:
            raise NvmlUnavailable(
                NvmlProblem("NVML_NOT_SUPPORTED", f"pynvml has no {fn_name}", "upgrade it")
            ) from exc
        except Exception as exc:
            raise NvmlUnavailable(classify_error(exc)) from exc

    def try_call(self, fn_name: str, *args: Any) -> Any:
        """Like :meth:`call` but returns None on any failure (optional facts)."""
        try:
            return self.call(fn_name, *args)
        except NvmlUnavailable:
            return None

    def device_count(self) -> int:
        return int(self.call("nvmlDeviceGetCount"))

    def handle(self, index: int) -> Any:
        """The NVML handle of NVML device ``index`` (NVML's own numbering)."""
        return self.call("nvmlDeviceGetHandleByIndex", index)

    def readable_handles(self) -> tuple[list[tuple[int, Any]], list[tuple[int, NvmlProblem]]]:
        """``(index, handle)`` of every device NVML lets this process open, and the refusals.

        Where cgroups hide the other GPUs of a node (Slurm device constraints, containers),
        opening their handles fails with NO_PERMISSION or OPERATING_SYSTEM; those devices are
        skipped, never fatal: the job's own GPU stays readable.
        """
        opened: list[tuple[int, Any]] = []
        refused: list[tuple[int, NvmlProblem]] = []
        for i in range(self.device_count()):
            try:
                opened.append((i, self.handle(i)))
            except NvmlUnavailable as exc:
                refused.append((i, exc.problem))
        return opened, refused

    def identities(self) -> list[tuple[str, tuple[int, int, int, int] | None]]:
        """``(normalised uuid, pci address)`` of every NVML device, in NVML order.

        A device whose handle cannot be opened keeps its position with ``("", None)``, so
        it matches nothing.
        """
        out: list[tuple[str, tuple[int, int, int, int] | None]] = [
            ("", None) for _ in range(self.device_count())
        ]
        for i, h in self.readable_handles()[0]:
            uuid = normalize_uuid(self.try_call("nvmlDeviceGetUUID", h))
            pci_info = self.try_call("nvmlDeviceGetPciInfo", h)
            pci = normalize_pci_bus_id(getattr(pci_info, "busId", None)) if pci_info else None
            out[i] = (uuid, pci)
        return out

    def handle_by_uuid(self, uuid: Any) -> Any | None:
        """The handle NVML gives for torch's UUID (``GPU-`` + dashed hex), or None."""
        hexed = normalize_uuid(uuid)
        if len(hexed) != 32:
            return None
        dashed = f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"
        return self.try_call("nvmlDeviceGetHandleByUUID", f"GPU-{dashed}")

    def handle_for_torch(self, props: Any) -> tuple[int, Any]:
        """NVML ``(index, handle)`` of the torch device described by ``props``.

        The handle is opened by UUID first (``nvmlDeviceGetHandleByUUID``: it needs no other
        device to be readable), then found by walking the readable devices (UUID, then PCI
        bus id). The index is NVML's (-1 where NVML will not say).

        Raises:
            NvmlUnavailable: no NVML device has the same UUID or PCI bus id.
        """
        uuid = getattr(props, "uuid", None)
        direct = self.handle_by_uuid(uuid)
        if direct is not None:
            index = self.try_call("nvmlDeviceGetIndex", direct)
            return (int(index) if isinstance(index, int) else -1), direct
        idx = match_device(uuid, torch_pci_bus_id(props), self.identities())
        if idx is None:
            raise NvmlUnavailable(
                NvmlProblem(
                    "NVML_NO_DEVICE",
                    f"no NVML device matches {getattr(props, 'name', 'the CUDA device')} "
                    "by UUID or PCI bus id",
                    "check that NVML and CUDA see the same GPUs (containers, vGPU)",
                )
            )
        return idx, self.handle(idx)
