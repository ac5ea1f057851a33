"""Register maps for decoding traces: built in for the devices the lab traces, or
loaded from a file.

A trace names offsets; a register map names them back (``STATUS = 0x80080783
[FD=1 LU=1 SPEED=S1000 ...]``).  Built in: QEMU's ``edu`` (docs/specs/edu.rst,
hw/misc/edu.c) and the Intel 8254x ``e1000`` the pc machine carries (the
registers Linux's e1000 driver uses, drivers/net/ethernet/intel/e1000/e1000_hw.h).
They are found by PCI vendor:device from a trace's PCIDEV lines; ``--regs``
adds others from a JSON register map (:meth:`RegisterMap.to_json`), an SVD or
a SystemRDL file.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..regs import Field, Register, RegisterMap


def _f(name: str, lsb: int, width: int = 1, values: dict[int, str] | None = None) -> Field:
    return Field(name, lsb, width, values=values or {})


@functools.cache
def edu() -> RegisterMap:
    """QEMU's educational PCI device, BAR 0."""
    return RegisterMap("edu", [
        Register("ID", 0x00, [_f("MAGIC", 0, 8), _f("MINOR", 16, 8), _f("MAJOR", 24, 8)],
                 access="ro", reset=0x010000ED, description="identification 0xRRrr00ed"),
        Register("LIVENESS", 0x04, description="reads back the complement of what was written"),
        Register("FACTORIAL", 0x08, description="n! of the value written, while COMPUTING"),
        Register("STATUS", 0x20, [_f("COMPUTING", 0), _f("IRQ_FACT", 7)]),
        Register("IRQ_STATUS", 0x24, [_f("FACT", 0), _f("DMA", 8)], access="ro"),
        Register("IRQ_RAISE", 0x60, access="wo"),
        Register("IRQ_ACK", 0x64, access="wo"),
        Register("DMA_SRC", 0x80, width=64),
        Register("DMA_DST", 0x88, width=64),
        Register("DMA_CNT", 0x90, width=64),
        Register("DMA_CMD", 0x98, [_f("START", 0), _f("TO_RAM", 1), _f("IRQ", 2)], width=64),
    ], size=1 << 20, description="QEMU edu (1234:11e8) BAR 0")


_SPEED = {0: "S10", 1: "S100", 2: "S1000", 3: "S1000"}
_INT = [_f("TXDW", 0), _f("TXQE", 1), _f("LSC", 2), _f("RXSEQ", 3), _f("RXDMT0", 4),
        _f("RXO", 6), _f("RXT0", 7), _f("MDAC", 9), _f("RXCFG", 10), _f("TXD_LOW", 15),
        _f("SRPD", 16), _f("INT_ASSERTED", 31)]

_STATS = ("CRCERRS 4000 ALGNERRC 4004 SYMERRS 4008 RXERRC 400c MPC 4010 SCC 4014 ECOL 4018 "
          "MCC 401c LATECOL 4020 COLC 4028 DC 4030 TNCRS 4034 SEC 4038 CEXTERR 403c RLEC 4040 "
          "XONRXC 4048 XONTXC 404c XOFFRXC 4050 XOFFTXC 4054 FCRUC 4058 PRC64 405c "
          "PRC127 4060 PRC255 4064 PRC511 4068 PRC1023 406c PRC1522 4070 GPRC 4074 BPRC 4078 "
          "MPRC 407c GPTC 4080 GORCL 4088 GORCH 408c GOTCL 4090 GOTCH 4094 RNBC 40a0 RUC 40a4 "
          "RFC 40a8 ROC 40ac RJC 40b0 MGTPRC 40b4 MGTPDC 40b8 MGTPTC 40bc TORL 40c0 TORH 40c4 "
          "TOTL 40c8 TOTH 40cc TPR 40d0 TPT 40d4 PTC64 40d8 PTC127 40dc PTC255 40e0 "
          "PTC511 40e4 PTC1023 40e8 PTC1522 40ec MPTC 40f0 BPTC 40f4 TSCTC 40f8 TSCTFC 40fc")


@functools.cache
def e1000() -> RegisterMap:
    """Intel 82540EM (8086:100e), BAR 0: the registers of e1000_hw.h the driver touches."""
    regs = [
        Register("CTRL", 0x0000, [_f("FD", 0), _f("LRST", 3), _f("ASDE", 5), _f("SLU", 6),
                                  _f("ILOS", 7), _f("SPEED", 8, 2, _SPEED), _f("FRCSPD", 11),
                                  _f("FRCDPLX", 12), _f("SWDPIN", 18, 4), _f("SWDPIO", 22, 4),
                                  _f("RST", 26), _f("RFCE", 27), _f("TFCE", 28), _f("VME", 30),
                                  _f("PHY_RST", 31)]),
        Register("CTRL_DUP", 0x0004),
        Register("STATUS", 0x0008, [_f("FD", 0), _f("LU", 1), _f("FUNC_ID", 2, 2),
                                    _f("TXOFF", 4), _f("TBIMODE", 5), _f("SPEED", 6, 2, _SPEED),
                                    _f("ASDV", 8, 2, _SPEED), _f("PCI66", 11), _f("BUS64", 12),
                                    _f("PCIX_MODE", 13)], access="ro"),
        Register("EECD", 0x0010, [_f("SK", 0), _f("CS", 1), _f("DI", 2), _f("DO", 3),
                                  _f("FWE", 4, 2), _f("REQ", 6), _f("GNT", 7), _f("PRES", 8),
                                  _f("SIZE", 9)]),
        Register("EERD", 0x0014, [_f("START", 0), _f("DONE", 4), _f("ADDR", 8, 8),
                                  _f("DATA", 16, 16)]),
        Register("CTRL_EXT", 0x0018),
        Register("FLA", 0x001C),
        Register("MDIC", 0x0020, [_f("DATA", 0, 16), _f("REG", 16, 5), _f("PHY", 21, 5),
                                  _f("OP", 26, 2, {1: "WRITE", 2: "READ"}), _f("R", 28),
                                  _f("I", 29), _f("E", 30)]),
        Register("SCTL", 0x0024),
        Register("FCAL", 0x0028),
        Register("FCAH", 0x002C),
        Register("FCT", 0x0030),
        Register("VET", 0x0038),
        Register("ICR", 0x00C0, _INT, access="rc"),
        Register("ITR", 0x00C4),
        Register("ICS", 0x00C8, _INT, access="wo"),
        Register("IMS", 0x00D0, _INT),
        Register("IMC", 0x00D8, _INT, access="wo"),
        Register("IAM", 0x00E0),
        Register("RCTL", 0x0100, [_f("RST", 0), _f("EN", 1), _f("SBP", 2), _f("UPE", 3),
                                  _f("MPE", 4), _f("LPE", 5), _f("LBM", 6, 2), _f("RDMTS", 8, 2),
                                  _f("MO", 12, 2), _f("BAM", 15), _f("BSIZE", 16, 2),
                                  _f("VFE", 18), _f("CFIEN", 19), _f("CFI", 20), _f("DPF", 22),
                                  _f("PMCF", 23), _f("BSEX", 25), _f("SECRC", 26)]),
        Register("FCTTV", 0x0170),
        Register("TXCW", 0x0178),
        Register("RXCW", 0x0180),
        Register("TCTL", 0x0400, [_f("RST", 0), _f("EN", 1), _f("PSP", 3), _f("CT", 4, 8),
                                  _f("COLD", 12, 10), _f("SWXOFF", 22), _f("PBE", 23),
                                  _f("RTLC", 24), _f("NRTU", 25), _f("MULR", 28)]),
        Register("TCTL_EXT", 0x0404),
        Register("TIPG", 0x0410),
        Register("TBT", 0x0448),
        Register("AIT", 0x0458),
        Register("LEDCTL", 0x0E00),
        Register("EXTCNF_CTRL", 0x0F00),
        Register("PBA", 0x1000),
        Register("PBS", 0x1008),
        Register("EEWR", 0x102C),
        Register("ERT", 0x2008),
        Register("FCRTL", 0x2160),
        Register("FCRTH", 0x2168),
        Register("RDBAL", 0x2800),
        Register("RDBAH", 0x2804),
        Register("RDLEN", 0x2808),
        Register("RDH", 0x2810),
        Register("RDT", 0x2818),
        Register("RDTR", 0x2820),
        Register("RXDCTL", 0x2828),
        Register("RADV", 0x282C),
        Register("TXDMAC", 0x3000),
        Register("TDBAL", 0x3800),
        Register("TDBAH", 0x3804),
        Register("TDLEN", 0x3808),
        Register("TDH", 0x3810),
        Register("TDT", 0x3818),
        Register("TIDV", 0x3820),
        Register("TXDCTL", 0x3828, [_f("PTHRESH", 0, 6), _f("HTHRESH", 8, 6),
                                    _f("WTHRESH", 16, 6), _f("GRAN", 24),
                                    _f("LWTHRESH", 25, 7)]),
        Register("TADV", 0x382C),
        Register("TSPMT", 0x3830),
        Register("RXCSUM", 0x5000),
        Register("RFCTL", 0x5008),
        Register("WUC", 0x5800),
        Register("WUFC", 0x5808),
        Register("WUS", 0x5810),
        Register("MANC", 0x5820),
    ]
    words = _STATS.split()
    regs += [Register(name, int(off, 16), access="rc")
             for name, off in zip(words[::2], words[1::2], strict=True)]
    regs += [Register(f"MTA{i}", 0x5200 + 4 * i) for i in range(128)]
    for i in range(16):
        regs += [Register(f"RAL{i}", 0x5400 + 8 * i), Register(f"RAH{i}", 0x5404 + 8 * i)]
    regs += [Register(f"VFTA{i}", 0x5600 + 4 * i) for i in range(128)]
    return RegisterMap("e1000", regs, size=0x20000,
                       description="Intel 82540EM Gigabit Ethernet (8086:100e) BAR 0")


#: built-in maps by name
BUILTIN = {"edu": edu, "e1000": e1000}
#: built-in maps by (vendor, device, BAR)
BY_PCI_ID = {(0x1234, 0x11E8, 0): "edu", (0x8086, 0x100E, 0): "e1000"}


def builtin_for(vendor: int, device: int, bar: int) -> RegisterMap | None:
    name = BY_PCI_ID.get((vendor, device, bar))
    return BUILTIN[name]() if name else None


def load(spec: str) -> RegisterMap:
    """A register map from a built-in name or a file (.json, .svd, .rdl)."""
    if spec in BUILTIN:
        return BUILTIN[spec]()
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"no register map {spec!r}: not a built-in one "
                         f"({', '.join(BUILTIN)}) and not a file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return RegisterMap.from_json(path.read_text())
    if suffix == ".svd":
        from ..regs import from_svd

        return from_svd(str(path))
    if suffix in (".rdl", ".systemrdl"):
        from ..regs import from_systemrdl

        return from_systemrdl(str(path))
    raise ValueError(f"{spec}: a register map is a .json, .svd or .rdl file")


__all__ = ["BUILTIN", "BY_PCI_ID", "builtin_for", "e1000", "edu", "load"]
