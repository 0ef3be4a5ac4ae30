package dev.safemerge.eval.task;

import dev.safemerge.eval.data.Records;
import dev.safemerge.tensor.BadInputException;
import java.util.List;

/** Picks the field of a record to use: the one the user named, else the first common name present. */
final class Fields {
    private Fields() {}

    static String pick(Records.Row row, String given, List<String> candidates, String option) {
        if (given != null) {
            return given;
        }
        for (String candidate : candidates) {
            if (row.node().has(candidate)) {
                return candidate;
            }
        }
        throw new BadInputException(
                row.where() + ": none of the fields " + candidates + " is present; name one with " + option);
    }
}
