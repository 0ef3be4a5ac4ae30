package dev.safemerge.tensor.kernel;

final class KernelSelection {
    private KernelSelection() {}

    static final Kernels SELECTED = select();

    private static Kernels select() {
        if ("scalar".equals(System.getProperty("safemerge.kernels"))) {
            return ScalarKernels.INSTANCE;
        }
        try {
            return VectorKernels.create();
        } catch (LinkageError e) {
            // the jdk.incubator.vector module is absent: the scalar loops give the same results, more slowly
            return ScalarKernels.INSTANCE;
        }
    }
}
