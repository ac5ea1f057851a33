"""Config space: identification, write masks, W1C status bits, capability lists."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iomem.devices.pci import ConfigError, PciConfigSpace, PciFunction
from iomem.devices.pci import regs as R


def make(**kw) -> PciFunction:
    kw.setdefault("vendor_id", 0x8086)
    kw.setdefault("device_id", 0x100E)
    kw.setdefault("revision", 0x03)
    kw.setdefault("class_code", 0x020000)
    kw.setdefault("interrupt_pin", 1)
    return PciFunction("nic", **kw)


def test_identification_registers():
    fn = make()
    c = fn.config
    assert c.get_word(R.PCI_VENDOR_ID) == 0x8086
    assert c.get_word(R.PCI_DEVICE_ID) == 0x100E
    assert c.get_long(R.PCI_CLASS_REVISION) == 0x02000003
    assert c.get_byte(R.PCI_HEADER_TYPE) == 0
    assert c.get_byte(R.PCI_INTERRUPT_PIN) == 1
    # QEMU's default subsystem when a model names none
    assert c.get_word(R.PCI_SUBSYSTEM_VENDOR_ID) == 0x1AF4
    assert c.get_word(R.PCI_SUBSYSTEM_ID) == 0x1100
    assert c.get_word(R.PCI_COMMAND) == 0
    assert c.get_word(R.PCI_STATUS) == 0


def test_explicit_subsystem_and_multifunction():
    fn = make(subsystem_vendor_id=0x8086, subsystem_id=0x001E, multifunction=True)
    assert fn.config.get_long(R.PCI_SUBSYSTEM_VENDOR_ID) == 0x001E8086
    assert fn.config.get_byte(R.PCI_HEADER_TYPE) == R.PCI_HEADER_TYPE_MFD


@pytest.mark.parametrize("offset,size", [(0x00, 4), (0x08, 4), (0x0E, 1), (0x2C, 4),
                                         (0x34, 1), (0x3D, 1), (0x0D, 1), (0x0F, 1)])
def test_read_only_header_fields_ignore_writes(offset, size):
    fn = make()
    before = fn.config.read(offset, size)
    fn.config_write(offset, size, (1 << (8 * size)) - 1)
    fn.config_write(offset, size, 0)
    assert fn.config.read(offset, size) == before


def test_command_register_write_mask():
    fn = make()
    fn.config_write(R.PCI_COMMAND, 2, 0xFFFF)
    assert fn.command == (R.PCI_COMMAND_IO | R.PCI_COMMAND_MEMORY | R.PCI_COMMAND_MASTER
                          | R.PCI_COMMAND_SERR | R.PCI_COMMAND_INTX_DISABLE) == 0x0507
    fn.config_write(R.PCI_COMMAND, 2, 0)
    assert fn.command == 0


def test_status_error_bits_are_write_one_to_clear():
    fn = make()
    c = fn.config
    fn.add_msi()  # sets the capability-list bit, which is read-only
    c.set_bits(R.PCI_STATUS, 2, R.PCI_STATUS_REC_MASTER_ABORT | R.PCI_STATUS_DETECTED_PARITY)
    fn.config_write(R.PCI_STATUS, 2, 0)  # zeros change nothing
    assert fn.status & R.PCI_STATUS_REC_MASTER_ABORT
    fn.config_write(R.PCI_STATUS, 2, R.PCI_STATUS_REC_MASTER_ABORT)
    assert not fn.status & R.PCI_STATUS_REC_MASTER_ABORT
    assert fn.status & R.PCI_STATUS_DETECTED_PARITY
    fn.config_write(R.PCI_STATUS, 2, 0xFFFF)  # all-ones clears the errors, not Cap+
    assert fn.status == R.PCI_STATUS_CAP_LIST


def test_status_interrupt_bit_is_read_only():
    fn = make()
    fn.set_irq(1)
    fn.config_write(R.PCI_STATUS, 2, 0xFFFF)
    assert fn.status & R.PCI_STATUS_INTERRUPT
    fn.set_irq(0)
    assert not fn.status & R.PCI_STATUS_INTERRUPT


def test_cache_line_and_interrupt_line_are_writable():
    fn = make()
    fn.config_write(R.PCI_CACHE_LINE_SIZE, 1, 0x10)
    fn.config_write(R.PCI_INTERRUPT_LINE, 1, 0x0B)
    assert fn.config.read(R.PCI_CACHE_LINE_SIZE, 1) == 0x10
    assert fn.config.read(R.PCI_INTERRUPT_LINE, 1) == 0x0B


def test_device_specific_bytes_are_scratch_in_qemu_mode_only():
    fn = make()
    fn.config_write(0x80, 4, 0xDEADBEEF)
    assert fn.config.read(0x80, 4) == 0xDEADBEEF
    strict = make(qemu_scratch=False)
    strict.config_write(0x80, 4, 0xDEADBEEF)
    assert strict.config.read(0x80, 4) == 0


def test_capability_list_walk_newest_first():
    fn = make(express=True)
    pm = fn.add_pm(pme_support=0x19)
    msi = fn.add_msi(vectors=4, address64=True, per_vector_mask=True)
    fn.add_bar(0, 0x4000, "mem32")
    msix = fn.add_msix(8, table_bar=0)
    exp = fn.add_express()
    assert fn.status & R.PCI_STATUS_CAP_LIST
    assert pm == 0x40 and msi.offset == 0x48 and msix.offset == 0x60 and exp == 0x6C
    assert fn.config.capabilities() == [(R.PCI_CAP_ID_EXP, exp), (R.PCI_CAP_ID_MSIX, msix.offset),
                                        (R.PCI_CAP_ID_MSI, msi.offset), (R.PCI_CAP_ID_PM, pm)]
    assert fn.config.read(R.PCI_CAPABILITY_LIST, 1) == exp
    assert fn.config.find_capability(R.PCI_CAP_ID_MSI) == msi.offset
    assert fn.config.find_capability(R.PCI_CAP_ID_VPD) is None
    # headers are read-only: software cannot break the chain
    fn.config_write(msi.offset, 2, 0)
    assert fn.config.read(msi.offset, 2) == (pm << 8) | R.PCI_CAP_ID_MSI


def test_capability_at_fixed_offset_and_overlap():
    fn = make()
    assert fn.add_msi(offset=0x50).offset == 0x50
    with pytest.raises(ConfigError):
        fn.add_pm(offset=0x54)
    with pytest.raises(ConfigError):
        fn.add_pm(offset=0x42)  # not dword aligned
    assert fn.add_pm() == 0x40


def test_msi_capability_layout_and_masks():
    fn = make()
    msi = fn.add_msi(vectors=8, address64=False, per_vector_mask=True)
    pos = msi.offset
    assert fn.config.read(pos + R.PCI_MSI_FLAGS, 2) == (3 << 1) | R.PCI_MSI_FLAGS_MASKBIT
    fn.config_write(pos + R.PCI_MSI_FLAGS, 2, 0xFFFF)
    # enable + multiple message enable writable; MMC, 64-bit, mask-capable not
    flags = fn.config.read(pos + R.PCI_MSI_FLAGS, 2)
    assert flags & 0x71 == 0x31  # MME clamped to MMC (8 vectors) once enabled
    assert flags & 0xFF8E == (3 << 1) | R.PCI_MSI_FLAGS_MASKBIT
    fn.config_write(pos + R.PCI_MSI_ADDRESS_LO, 4, 0xFFFFFFFF)
    assert fn.config.read(pos + R.PCI_MSI_ADDRESS_LO, 4) == 0xFFFFFFFC
    fn.config_write(pos + R.PCI_MSI_MASK_32, 4, 0xFFFFFFFF)
    assert fn.config.read(pos + R.PCI_MSI_MASK_32, 4) == 0xFF
    fn.config_write(pos + R.PCI_MSI_PENDING_32, 4, 0xFFFFFFFF)
    assert fn.config.read(pos + R.PCI_MSI_PENDING_32, 4) == 0


def test_pm_capability_masks():
    fn = make()
    pos = fn.add_pm(pme_support=0x08)
    ctrl = pos + R.PCI_PM_CTRL
    fn.config_write(ctrl, 2, 0xFFFF & ~R.PCI_PM_CTRL_PME_STATUS)
    assert fn.config.read(ctrl, 2) == (3 | R.PCI_PM_CTRL_PME_ENABLE | R.PCI_PM_CTRL_NO_SOFT_RESET)
    fn.config.set_bits(ctrl, 2, R.PCI_PM_CTRL_PME_STATUS)
    fn.config_write(ctrl, 2, R.PCI_PM_CTRL_PME_STATUS)
    assert not fn.config.read(ctrl, 2) & R.PCI_PM_CTRL_PME_STATUS
    assert fn.config.read(pos + R.PCI_PM_PMC, 2) == 3 | (0x08 << R.PCI_PM_CAP_PME_SHIFT)


def test_express_capability_and_extended_space():
    fn = make(express=True)
    assert fn.config.size == 4096
    pos = fn.add_express(link_speed=2, link_width=4)
    assert fn.config.read(pos + R.PCI_EXP_FLAGS, 2) == 0x0002  # v2 endpoint
    assert fn.config.read(pos + R.PCI_EXP_LNKSTA, 2) & 0x3FF == (4 << 4) | 2
    # an empty extended list: a header of zero that software cannot change
    fn.config_write(0x100, 4, 0xFFFFFFFF)
    assert fn.config.read(0x100, 4) == 0
    assert fn.config.ext_capabilities() == []
    aer = fn.config.add_ext_capability(R.PCI_EXT_CAP_ID_ERR, 2, 0x48)
    dsn = fn.config.add_ext_capability(R.PCI_EXT_CAP_ID_DSN, 1, 0x0C)
    assert aer == 0x100 and dsn == 0x148
    assert fn.config.ext_capabilities() == [(R.PCI_EXT_CAP_ID_ERR, 2, 0x100),
                                            (R.PCI_EXT_CAP_ID_DSN, 1, 0x148)]
    assert fn.config.find_ext_capability(R.PCI_EXT_CAP_ID_DSN) == 0x148


def test_flr_resets_the_function():
    fn = make(express=True)
    pos = fn.add_express(flr=True)
    fn.add_bar(0, 0x1000)
    fn.config_write(R.PCI_BASE_ADDRESS_0, 4, 0xFE000000)
    fn.config_write(R.PCI_COMMAND, 2, R.PCI_COMMAND_MEMORY)
    fn.config_write(pos + R.PCI_EXP_DEVCTL, 2, R.PCI_EXP_DEVCTL_BCR_FLR)
    assert fn.command == 0
    assert fn.config.read(R.PCI_BASE_ADDRESS_0, 4) == 0
    assert not fn.config.read(pos + R.PCI_EXP_DEVCTL, 2) & R.PCI_EXP_DEVCTL_BCR_FLR


def test_bad_config_access_sizes():
    c = PciConfigSpace()
    with pytest.raises(ConfigError):
        c.read(0xFE, 4)
    with pytest.raises(ConfigError):
        c.write(0, 3, 0)
    with pytest.raises(ConfigError):
        PciConfigSpace(512)


def _full_function() -> PciFunction:
    fn = make(express=True, qemu_scratch=False)
    fn.add_pm(pme_support=0x1F)
    fn.add_msi(vectors=2, per_vector_mask=True)
    fn.add_bar(0, 1 << 20, "mem64", prefetch=True)
    fn.add_bar(2, 0x4000, "mem32")
    fn.add_bar(3, 0x40, "io")
    fn.add_rom(b"\x55\xaa")
    fn.add_msix(4, table_bar=2)
    fn.add_express(flr=False)
    return fn


writes = st.lists(st.tuples(st.integers(0, 4095), st.sampled_from([1, 2, 4]),
                            st.integers(0, 0xFFFFFFFF)), max_size=40)


@settings(max_examples=150, deadline=None)
@given(writes)
def test_read_only_bits_never_change_and_w1c_bits_only_clear(ops):
    fn = _full_function()
    c = fn.config
    wmask, w1c = bytes(c.wmask), bytes(c.w1cmask)
    ro = bytes(~(w | x) & 0xFF for w, x in zip(wmask, w1c, strict=True))
    for offset, size, value in ops:
        offset = min(offset, c.size - size)
        before = bytes(c.data)
        fn.config_write(offset, size, value & ((1 << (8 * size)) - 1))
        after = bytes(c.data)
        for i in range(c.size):
            if i == R.PCI_STATUS:  # the model's own interrupt-status bit may move
                continue
            assert (before[i] ^ after[i]) & ro[i] == 0, f"read-only bits of 0x{i:x} changed"
            assert after[i] & w1c[i] & ~before[i] == 0, f"W1C bit of 0x{i:x} was set"
