package dev.safemerge.tensor;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Asks the kernel to start reading a mapped range in the background ({@code madvise(MADV_WILLNEED)}). Page faults on
 * a memory map read ahead far less than {@code read(2)} does, so a cold sequential scan of a mapped tensor would run
 * well below disk speed without this hint. Where {@code madvise} is unavailable the hint is skipped.
 */
final class ReadAhead {
    private static final int MADV_WILLNEED = 3;
    private static final long PAGE = 4096;
    private static final MethodHandle MADVISE = find();

    private ReadAhead() {}

    private static MethodHandle find() {
        if (!System.getProperty("os.name", "")
                .toLowerCase(java.util.Locale.ROOT)
                .contains("linux")) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup()
                    .find("madvise")
                    .map(address -> linker.downcallHandle(
                            address,
                            FunctionDescriptor.of(
                                    ValueLayout.JAVA_INT,
                                    ValueLayout.ADDRESS,
                                    ValueLayout.JAVA_LONG,
                                    ValueLayout.JAVA_INT)))
                    .orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    /** Hints that {@code range} (a slice of a file mapping) will be read soon. */
    static void willNeed(MemorySegment range) {
        if (MADVISE == null || !range.isNative() || range.byteSize() == 0) {
            return;
        }
        long start = range.address() & -PAGE;
        long length = range.address() + range.byteSize() - start;
        try {
            int ignored = (int) MADVISE.invokeExact(MemorySegment.ofAddress(start), length, MADV_WILLNEED);
        } catch (Throwable e) {
            // A hint that fails changes nothing but speed.
        }
    }
}
