package dev.safemerge.eval.task;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.safemerge.eval.Json;
import dev.safemerge.eval.data.Records;
import dev.safemerge.tensor.BadInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Berkeley Function-Calling Leaderboard files as published: JSON Lines (under {@code .json}) of {@code {id, question,
 * function}}, {@code question} a list of turns, each a list of {@code {role, content}} messages, {@code function} the
 * function docs; the accepted calls in a possible-answer file of the same name ({@code answer_NAME} or
 * {@code possible_answer/NAME} beside it or one directory up), lines {@code {id, ground_truth: [{name: {param:
 * [accepted values]}}]}} where {@code ""} among the values marks the parameter optional. Only single-turn categories
 * are supported; irrelevance ids need no answers (the right response is no call).
 *
 * <p>Scoring follows BFCL's AST checker: the response is a list of calls; as many calls as expected, each expected
 * call matched by some unused call in any order; a call matches when its name is the expected one, every required
 * parameter is given, every given parameter is in the doc and the expected call, its value has the doc's type (an int
 * passes for a float) and is among the accepted values (strings compared after BFCL's normalisation), and every
 * omitted parameter is optional.
 */
final class Bfcl {
    static final String GROUND_TRUTH = "ground_truth";
    static final String INSTRUCTION = "You are given a question and functions you may call. Answer only with the"
            + " function calls that achieve the question, written as [name(param=value, ...), name2(...)] with no"
            + " other text. If no function applies, or the question lacks a required parameter, say so instead of"
            + " calling.\n\nFunctions (JSON):\n";

    private Bfcl() {}

    static boolean isBfcl(Records.Row row) {
        return row.node().path("question").isArray()
                && row.node().path("function").isArray();
    }

    static List<TaskItem> load(Path path, List<Records.Row> rows, String systemPrompt) {
        Map<String, JsonNode> answers = possibleAnswers(path);
        List<TaskItem> items = new ArrayList<>();
        for (Records.Row row : rows) {
            String id = row.string("id");
            JsonNode turns = row.node().get("question");
            if (turns.size() != 1 || !turns.get(0).isArray()) {
                throw new BadInputException(row.where() + ": field 'question' must be one turn (a list of messages);"
                        + " multi-turn BFCL categories are not supported");
            }
            StringBuilder user = new StringBuilder();
            JsonNode messages = turns.get(0);
            for (int m = 0; m < messages.size(); m++) {
                String field = "question[0][" + m + "]";
                stringIn(row, messages.get(m), field, "role");
                String content = stringIn(row, messages.get(m), field, "content");
                user.append(user.isEmpty() ? "" : "\n").append(content);
            }
            JsonNode functions = row.node().get("function");
            for (int f = 0; f < functions.size(); f++) {
                stringIn(row, functions.get(f), "function[" + f + "]", "name");
            }
            ObjectNode data = Json.object();
            data.set("function", functions);
            JsonNode truth = answers.get(id);
            if (truth == null && !id.startsWith("irrelevance")) {
                throw new BadInputException(
                        row.where() + ": no possible answer for id '" + id + "' (expected " + answerFile(path) + ")");
            }
            data.set(GROUND_TRUTH, truth == null ? Json.MAPPER.createArrayNode() : truth);
            items.add(new TaskItem(
                    row.where(),
                    user.toString(),
                    id.replaceAll("_\\d+$", ""),
                    Prompts.chatWithInstruction(
                            systemPrompt, INSTRUCTION + Json.line(functions), "\n\n", user.toString()),
                    data));
        }
        return items;
    }

    private static String stringIn(Records.Row row, JsonNode node, String where, String field) {
        JsonNode value = node == null ? null : node.get(field);
        if (value == null || !value.isTextual()) {
            throw new BadInputException(row.where() + ": field '" + where + "." + field + "' must be a string, got "
                    + (value == null
                            ? "nothing"
                            : value.getNodeType().toString().toLowerCase(Locale.ROOT)));
        }
        return value.asText();
    }

    private static Path answerFile(Path test) {
        Path dir = test.toAbsolutePath().getParent();
        String name = test.getFileName().toString();
        for (Path candidate : List.of(
                dir.resolve("answer_" + name),
                dir.resolve("possible_answer").resolve(name),
                dir.resolveSibling("possible_answer").resolve(name))) {
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        return dir.resolve("answer_" + name);
    }

    /** The possible answers by id, each checked to be a list of {name: {param: [values]}}; none if no file exists. */
    private static Map<String, JsonNode> possibleAnswers(Path test) {
        Path file = answerFile(test);
        Map<String, JsonNode> byId = new HashMap<>();
        if (!Files.isRegularFile(file)) {
            return byId;
        }
        for (Records.Row row : Records.read(file)) {
            JsonNode truth = row.node().get(GROUND_TRUTH);
            if (truth == null || !truth.isArray()) {
                throw new BadInputException(row.where() + ": field '" + GROUND_TRUTH + "' must be a list of calls");
            }
            for (int c = 0; c < truth.size(); c++) {
                JsonNode call = truth.get(c);
                String where = GROUND_TRUTH + "[" + c + "]";
                if (!call.isObject()
                        || call.size() != 1
                        || !call.elements().next().isObject()) {
                    throw new BadInputException(
                            row.where() + ": field '" + where + "' must be {function name: {parameter: [values]}}");
                }
                call.elements().next().properties().forEach(p -> {
                    if (!p.getValue().isArray()) {
                        throw new BadInputException(row.where() + ": field '" + where + "." + p.getKey()
                                + "' must be a list of accepted values");
                    }
                });
            }
            byId.put(row.string("id"), truth);
        }
        return byId;
    }

    static ObjectNode score(TaskItem item, String response) {
        ObjectNode score = Json.object();
        ArrayNode truth = (ArrayNode) item.data().get(GROUND_TRUTH);
        List<PythonCall> calls;
        try {
            calls = PythonCall.parseCalls(response);
        } catch (PythonCall.ParseException e) {
            calls = null;
            score.put("parse_error", e.getMessage());
        }
        if (truth.isEmpty()) {
            // irrelevance: right when the response is not a call, as BFCL counts an undecodable or empty answer
            score.put("score", calls == null || calls.isEmpty() ? 1.0 : 0.0);
            return score;
        }
        String failure =
                calls == null ? "not a list of calls" : match(item.data().get("function"), truth, calls);
        if (failure != null) {
            score.put("check", failure);
        }
        score.put("score", failure == null ? 1.0 : 0.0);
        return score;
    }

    /** Null when every expected call is matched by its own response call (any order), else why not. */
    private static String match(JsonNode docs, ArrayNode truth, List<PythonCall> calls) {
        if (calls.size() != truth.size()) {
            return truth.size() + " call(s) expected, " + calls.size() + " made";
        }
        boolean[] used = new boolean[calls.size()];
        String last = null;
        for (JsonNode expected : truth) {
            boolean found = false;
            for (int c = 0; c < calls.size() && !found; c++) {
                if (!used[c]) {
                    last = check(docs, expected, calls.get(c));
                    if (last == null) {
                        used[c] = true;
                        found = true;
                    }
                }
            }
            if (!found) {
                return last;
            }
        }
        return null;
    }

    /** BFCL's check of one call against one expected call: null when it passes, else the reason. */
    private static String check(JsonNode docs, JsonNode expected, PythonCall call) {
        String name = expected.fieldNames().next();
        JsonNode params = expected.get(name);
        if (!call.name().equals(name)) {
            return "expected " + name + ", got " + call.name();
        }
        JsonNode doc = null;
        for (JsonNode candidate : docs) {
            if (candidate.path("name").asText().equals(name)) {
                doc = candidate;
            }
        }
        if (doc == null) {
            throw new BadInputException("the possible answer names " + name + ", which no function doc defines");
        }
        JsonNode properties = doc.path("parameters").path("properties");
        for (JsonNode required : doc.path("parameters").path("required")) {
            if (!call.arguments().containsKey(required.asText())) {
                return name + ": required parameter " + required.asText() + " missing";
            }
        }
        for (var argument : call.arguments().entrySet()) {
            String key = argument.getKey();
            if (!properties.has(key) || !params.has(key)) {
                return name + ": unexpected parameter " + key;
            }
            Object value = argument.getValue();
            JsonNode accepted = params.get(key);
            if (!typeMatches(properties.get(key), value, accepted)) {
                return name + ": parameter " + key + " has the wrong type";
            }
            if (!accepted(value, accepted)) {
                return name + ": parameter " + key + " has a value not accepted";
            }
        }
        for (var param : params.properties()) {
            if (!call.arguments().containsKey(param.getKey()) && !optional(param.getValue())) {
                return name + ": parameter " + param.getKey() + " missing";
            }
        }
        return null;
    }

    private static boolean optional(JsonNode accepted) {
        for (JsonNode value : accepted) {
            if (value.isTextual() && value.asText().isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The doc's type check: string, integer, float (an int passes), boolean, array/tuple (one level of item type),
     * dict, and "any" read as string as BFCL does; values whose accepted answers are themselves of another type
     * (BFCL's variables) are not checked here.
     */
    private static boolean typeMatches(JsonNode property, Object value, JsonNode accepted) {
        String type = property.path("type").asText("any");
        boolean answersOfType = false;
        for (JsonNode answer : accepted) {
            if (!(answer.isTextual() && answer.asText().isEmpty()) && isOfType(type, toJava(answer))) {
                answersOfType = true;
            }
        }
        if (!answersOfType) {
            return true;
        }
        if (!isOfType(type, value)) {
            return false;
        }
        String itemType = property.path("items").path("type").asText("any");
        if (value instanceof List<?> list && !itemType.equals("any") && !itemType.equals("dict")) {
            return list.stream().allMatch(element -> isOfType(itemType, element));
        }
        return true;
    }

    private static boolean isOfType(String type, Object value) {
        return switch (type) {
            case "string", "any" -> value instanceof String;
            case "integer" -> value instanceof Long;
            case "float" -> value instanceof Double || value instanceof Long;
            case "boolean" -> value instanceof Boolean;
            case "array", "tuple" -> value instanceof List;
            case "dict" -> value instanceof Map;
            default -> true;
        };
    }

    /** Whether a value is one of the accepted values (dicts: per-key accepted lists, lists: element by element). */
    private static boolean accepted(Object value, JsonNode accepted) {
        for (JsonNode answer : accepted) {
            if (matches(value, answer)) {
                return true;
            }
        }
        return false;
    }

    private static boolean matches(Object value, JsonNode answer) {
        if (answer.isObject() && value instanceof Map<?, ?> dict) {
            for (var entry : dict.entrySet()) {
                JsonNode keyAccepted = answer.get(String.valueOf(entry.getKey()));
                if (keyAccepted == null || !keyAccepted.isArray() || !accepted(entry.getValue(), keyAccepted)) {
                    return false;
                }
            }
            for (var key : answer.properties()) {
                if (!dict.containsKey(key.getKey()) && !optional(key.getValue())) {
                    return false;
                }
            }
            return true;
        }
        if (answer.isArray() && value instanceof List<?> list) {
            if (answer.size() != list.size()) {
                return false;
            }
            for (int i = 0; i < list.size(); i++) {
                if (!matches(list.get(i), answer.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (value instanceof Boolean != answer.isBoolean()) {
            return false;
        }
        return ToolCall.valuesMatch(toJava(answer), value);
    }

    /** A JSON value as {@link PythonCall} represents the same literal. */
    private static Object toJava(JsonNode node) {
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isBoolean()) {
            return node.asBoolean();
        }
        if (node.isIntegralNumber()) {
            return node.asLong();
        }
        if (node.isNumber()) {
            return node.asDouble();
        }
        if (node.isArray()) {
            List<Object> list = new ArrayList<>();
            node.forEach(element -> list.add(toJava(element)));
            return list;
        }
        if (node.isObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            node.properties().forEach(p -> map.put(p.getKey(), toJava(p.getValue())));
            return map;
        }
        return PythonCall.NONE;
    }
}
