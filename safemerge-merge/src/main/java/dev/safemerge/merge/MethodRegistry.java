package dev.safemerge.merge;

import dev.safemerge.merge.method.ArceeFusion;
import dev.safemerge.merge.method.Karcher;
import dev.safemerge.merge.method.Linear;
import dev.safemerge.merge.method.ModelStock;
import dev.safemerge.merge.method.MultiSlerp;
import dev.safemerge.merge.method.NearSwap;
import dev.safemerge.merge.method.NuSlerp;
import dev.safemerge.merge.method.Passthrough;
import dev.safemerge.merge.method.Sce;
import dev.safemerge.merge.method.Slerp;
import dev.safemerge.merge.method.TaskArithmeticMethods;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Every merge method by its mergekit name. */
public final class MethodRegistry {
    private static final Map<String, MergeMethod> METHODS = byName(List.of(
            new Linear(),
            new Slerp(),
            new NuSlerp(),
            new MultiSlerp(),
            new Karcher(),
            TaskArithmeticMethods.TASK_ARITHMETIC,
            TaskArithmeticMethods.TIES,
            TaskArithmeticMethods.DARE_LINEAR,
            TaskArithmeticMethods.DARE_TIES,
            TaskArithmeticMethods.BREADCRUMBS,
            TaskArithmeticMethods.BREADCRUMBS_TIES,
            TaskArithmeticMethods.DELLA,
            TaskArithmeticMethods.DELLA_LINEAR,
            new ModelStock(),
            new Sce(),
            new NearSwap(),
            new ArceeFusion(),
            new Passthrough()));

    private MethodRegistry() {}

    private static Map<String, MergeMethod> byName(List<MergeMethod> methods) {
        Map<String, MergeMethod> map = new LinkedHashMap<>();
        for (MergeMethod method : methods) {
            map.put(method.name(), method);
        }
        return java.util.Collections.unmodifiableMap(map);
    }

    /** The method called {@code name}, or null. */
    public static MergeMethod find(String name) {
        return METHODS.get(name);
    }

    public static Map<String, MergeMethod> all() {
        return METHODS;
    }
}
