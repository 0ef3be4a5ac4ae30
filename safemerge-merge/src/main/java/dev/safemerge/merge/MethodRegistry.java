package dev.safemerge.merge;

import dev.safemerge.merge.method.ArceeFusion;
import dev.safemerge.merge.method.Breadcrumbs;
import dev.safemerge.merge.method.BreadcrumbsTies;
import dev.safemerge.merge.method.DareLinear;
import dev.safemerge.merge.method.DareTies;
import dev.safemerge.merge.method.Della;
import dev.safemerge.merge.method.DellaLinear;
import dev.safemerge.merge.method.Karcher;
import dev.safemerge.merge.method.Linear;
import dev.safemerge.merge.method.ModelStock;
import dev.safemerge.merge.method.MultiSlerp;
import dev.safemerge.merge.method.NearSwap;
import dev.safemerge.merge.method.NuSlerp;
import dev.safemerge.merge.method.Passthrough;
import dev.safemerge.merge.method.Sce;
import dev.safemerge.merge.method.Slerp;
import dev.safemerge.merge.method.TaskArithmetic;
import dev.safemerge.merge.method.Ties;
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
            new TaskArithmetic(),
            new Ties(),
            new DareLinear(),
            new DareTies(),
            new Breadcrumbs(),
            new BreadcrumbsTies(),
            new Della(),
            new DellaLinear(),
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
