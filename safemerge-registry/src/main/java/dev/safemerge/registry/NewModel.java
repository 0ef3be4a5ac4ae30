package dev.safemerge.registry;

import java.nio.file.Path;
import java.util.List;

/**
 * A model directory to register: its name, kind and lineage (parents, the exact mergekit YAML or training settings as
 * {@code recipe}, the training data's hash), optionally its sweep (created with {@link Registry#addSweep}) and the
 * swept value, and the branch whose head it becomes.
 */
public record NewModel(
        String name,
        Path location,
        ModelKind kind,
        List<VersionRef> parents,
        String recipe,
        String dataHash,
        String sweep,
        Double sweepValue,
        String branch) {
    public NewModel {
        parents = List.copyOf(parents);
    }

    public static NewModel of(String name, Path location, ModelKind kind, List<VersionRef> parents) {
        return new NewModel(name, location, kind, parents, null, null, null, null, null);
    }
}
