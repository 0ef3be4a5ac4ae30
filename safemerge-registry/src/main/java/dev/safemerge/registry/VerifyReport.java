package dev.safemerge.registry;

import java.util.List;

/** What {@code registry verify} found: one line per problem; empty when the chain and every model's files match. */
public record VerifyReport(long auditEntries, int modelsChecked, List<String> problems) {
    public boolean ok() {
        return problems.isEmpty();
    }
}
