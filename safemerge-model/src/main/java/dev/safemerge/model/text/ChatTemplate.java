package dev.safemerge.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.JinjavaProcessors;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import dev.safemerge.tensor.BadInputException;
import dev.safemerge.tensor.JsonMappers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.CompositeELResolver;

/**
 * A Hugging Face chat template ({@code chat_template} in tokenizer_config.json, or chat_template.jinja) rendered the
 * way transformers' {@code apply_chat_template} renders it with Python jinja2: trim_blocks, lstrip_blocks, loop
 * controls, {@code tojson} as {@code json.dumps}, {@code raise_exception}, {@code strftime_now}, and Python's
 * {@code str}/{@code dict} methods. Jinjava does the rendering; this class closes the gaps between the two.
 */
public final class ChatTemplate {
    /**
     * Longest one rendering may take. A template comes with the model and is untrusted: nested loops can run for
     * hours, and a server renders one per request.
     */
    public static final Duration RENDER_TIME_LIMIT = Duration.ofSeconds(5);

    /** Most characters one rendering may produce. */
    public static final long MAX_OUTPUT_CHARS = 16L << 20;

    private static final ThreadLocal<Clock> CLOCK = ThreadLocal.withInitial(Clock::systemDefaultZone);
    private static final ThreadLocal<Long> DEADLINE = new ThreadLocal<>();

    private final String source;
    private final String origin;
    private final Jinjava jinjava;
    private final String unknownFilter;
    private final Clock clock;

    private ChatTemplate(String source, String origin, Clock clock) {
        this.source = rewrite(source);
        this.origin = origin;
        this.clock = clock;
        this.jinjava = newJinjava();
        this.unknownFilter = unknownFilter(this.source, jinjava);
    }

    private static final Pattern TAG = Pattern.compile("\\{[{%](.*?)[}%]\\}", Pattern.DOTALL);
    private static final Pattern STRING_LITERAL = Pattern.compile("'(?:\\\\.|[^'\\\\])*'|\"(?:\\\\.|[^\"\\\\])*\"");
    private static final Pattern FILTER_USE = Pattern.compile("(?<!\\|)\\|\\s*([A-Za-z_]\\w*)");

    /** jinja2's built-in filters: a template may use them even where Jinjava resolves them another way. */
    private static final java.util.Set<String> JINJA2_FILTERS = java.util.Set.of(
            "abs",
            "attr",
            "batch",
            "capitalize",
            "center",
            "count",
            "d",
            "default",
            "dictsort",
            "e",
            "escape",
            "filesizeformat",
            "first",
            "float",
            "forceescape",
            "format",
            "groupby",
            "indent",
            "int",
            "items",
            "join",
            "last",
            "length",
            "list",
            "lower",
            "map",
            "max",
            "min",
            "pprint",
            "random",
            "reject",
            "rejectattr",
            "replace",
            "reverse",
            "round",
            "safe",
            "select",
            "selectattr",
            "slice",
            "sort",
            "string",
            "striptags",
            "sum",
            "title",
            "tojson",
            "trim",
            "truncate",
            "unique",
            "upper",
            "urlencode",
            "urlize",
            "wordcount",
            "wordwrap",
            "xmlattr");

    /** The first filter the template applies that neither jinja2 nor the renderer knows, or null. */
    private static String unknownFilter(String source, Jinjava jinjava) {
        Matcher tag = TAG.matcher(source);
        while (tag.find()) {
            String code = STRING_LITERAL.matcher(tag.group(1)).replaceAll("''");
            Matcher filter = FILTER_USE.matcher(code);
            while (filter.find()) {
                String name = filter.group(1);
                if (!JINJA2_FILTERS.contains(name) && jinjava.getGlobalContext().getFilter(name) == null) {
                    return name;
                }
            }
        }
        return null;
    }

    /** A template from its Jinja source. */
    public static ChatTemplate of(String source) {
        return of(source, "chat template");
    }

    /** A template from its Jinja source; {@code origin} (a file) names it in error messages. */
    public static ChatTemplate of(String source, String origin) {
        return new ChatTemplate(source, origin, Clock.systemDefaultZone());
    }

    /** The same template with {@code strftime_now} reading the given clock. */
    public ChatTemplate withClock(Clock newClock) {
        return new ChatTemplate(source, origin, newClock);
    }

    /**
     * The template of a model directory: chat_template.jinja if present, else {@code chat_template} in
     * tokenizer_config.json (a string, or a list of named templates of which "default" is used).
     */
    public static Optional<ChatTemplate> fromModelDir(Path modelDir) {
        Path jinja = modelDir.resolve("chat_template.jinja");
        try {
            if (Files.isRegularFile(jinja)) {
                return Optional.of(of(Files.readString(jinja, StandardCharsets.UTF_8), jinja.toString()));
            }
            Path config = modelDir.resolve("tokenizer_config.json");
            if (!Files.isRegularFile(config)) {
                return Optional.empty();
            }
            JsonNode template = JsonMappers.plain().readTree(config.toFile()).path("chat_template");
            if (template.isTextual()) {
                return Optional.of(of(template.asText(), config + " chat_template"));
            }
            if (template.isArray()) {
                for (JsonNode named : template) {
                    if ("default".equals(named.path("name").asText())) {
                        return Optional.of(of(named.path("template").asText(), config + " chat_template \"default\""));
                    }
                }
                throw new BadInputException(config + ": chat_template lists no template named \"default\"");
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new BadInputException(modelDir + ": cannot read the chat template: " + e.getMessage(), e);
        }
    }

    /** Where the template comes from (a file, a registered prompt version), as error messages name it. */
    public String origin() {
        return origin;
    }

    /** The template source after the rewrites of constructs Jinjava parses differently from jinja2. */
    public String source() {
        return source;
    }

    /**
     * Renders a conversation. Messages and tools are OpenAI-style maps ({@code role}, {@code content},
     * {@code tool_calls}, ...); {@code variables} adds {@code bos_token}, {@code eos_token} and any template switch.
     *
     * @throws ChatTemplateException when the template raises (for example roles that do not alternate)
     */
    public String render(
            List<? extends Map<String, ?>> messages,
            boolean addGenerationPrompt,
            List<? extends Map<String, ?>> tools,
            Map<String, ?> variables) {
        if (unknownFilter != null) {
            // jinja2 refuses to compile such a template; Jinjava would pass the value through unfiltered
            throw new ChatTemplateException(origin + ": no filter named '" + unknownFilter + "'");
        }
        Map<String, Object> context = new HashMap<>(variables);
        context.put("messages", new ArrayList<>(messages));
        context.put("add_generation_prompt", addGenerationPrompt);
        if (tools != null) {
            context.put("tools", new ArrayList<>(tools));
        }
        Clock previous = CLOCK.get();
        Long previousDeadline = DEADLINE.get();
        CLOCK.set(clock);
        DEADLINE.set(System.nanoTime() + RENDER_TIME_LIMIT.toNanos());
        RenderResult result;
        try {
            result = jinjava.renderForResult(source, context);
        } catch (OverBudget e) {
            throw overBudget();
        } finally {
            CLOCK.set(previous);
            DEADLINE.set(previousDeadline);
        }
        for (TemplateError error : result.getErrors()) {
            if (isOverBudget(error)) {
                throw overBudget();
            }
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw failure(error);
            }
            if (error.getReason() == TemplateError.ErrorReason.OUTPUT_TOO_BIG) {
                throw new ChatTemplateException(
                        origin + ": the rendered text is longer than " + MAX_OUTPUT_CHARS + " characters");
            }
        }
        return result.getOutput();
    }

    private ChatTemplateException overBudget() {
        return new ChatTemplateException(
                origin + ": rendering took longer than " + RENDER_TIME_LIMIT.toSeconds() + " s and was stopped");
    }

    private static boolean isOverBudget(TemplateError error) {
        for (Throwable cause = error.getException(); cause != null; cause = cause.getCause()) {
            if (cause instanceof OverBudget) {
                return true;
            }
        }
        return false;
    }

    /** Called before each template node renders: past the deadline, rendering stops. */
    private static void checkDeadline(Node node, JinjavaInterpreter interpreter) {
        Long deadline = DEADLINE.get();
        if (deadline != null && System.nanoTime() - deadline > 0) {
            throw new OverBudget();
        }
    }

    /** Thrown out of the renderer when a rendering runs past {@link #RENDER_TIME_LIMIT}. */
    private static final class OverBudget extends RuntimeException {
        private static final long serialVersionUID = 1L;

        OverBudget() {
            super("chat template rendering over its time budget", null, false, false);
        }
    }

    /** Renders plain role/content messages. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, ?> variables) {
        return render(messages.stream().map(ChatMessage::asMap).toList(), addGenerationPrompt, null, variables);
    }

    private ChatTemplateException failure(TemplateError error) {
        for (Throwable cause = error.getException(); cause != null; cause = cause.getCause()) {
            if (cause instanceof TemplateRaised raised) {
                return new ChatTemplateException("chat template: " + raised.getMessage());
            }
        }
        String where = error.getLineno() > 0 ? " (template line " + error.getLineno() + ")" : "";
        return new ChatTemplateException(
                origin + " failed: " + error.getMessage().replace('\n', ' ') + where, error.getException());
    }

    // `not x is none` is `not (x is none)` in jinja2 but `(not x) is none` in Jinjava; `seq[::-1]` is no syntax there.
    private static final Pattern NOT_IS = Pattern.compile(
            "\\bnot\\s+([A-Za-z_][\\w.]*(?:\\[[^\\]]*\\])*(?:\\.[A-Za-z_]\\w*)*)\\s+is\\s+(not\\s+)?([A-Za-z_]\\w*)");
    private static final Pattern REVERSE_SLICE = Pattern.compile("\\[\\s*:\\s*:\\s*-1\\s*\\]");

    static String rewrite(String template) {
        String result =
                parenthesizeNamespaceArguments(REVERSE_SLICE.matcher(template).replaceAll("|reverse|list"));
        Matcher m = NOT_IS.matcher(result);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String negation = m.group(2) == null ? "" : "not ";
            m.appendReplacement(
                    out, Matcher.quoteReplacement("not (" + m.group(1) + " is " + negation + m.group(3) + ")"));
        }
        m.appendTail(out);
        return out.toString();
    }

    // Jinjava binds `name=value` tighter than arithmetic: namespace(i=n - 1) becomes (i=n) - 1. Parenthesize values.
    private static String parenthesizeNamespaceArguments(String template) {
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (int at = template.indexOf("namespace(", from); at >= 0; at = template.indexOf("namespace(", from)) {
            int open = at + "namespace(".length();
            int close = matchingParenthesis(template, open);
            if (close < 0) {
                break;
            }
            out.append(template, from, open);
            List<String> arguments = topLevelSplit(template.substring(open, close));
            for (int i = 0; i < arguments.size(); i++) {
                String argument = arguments.get(i);
                Matcher named = Pattern.compile("^(\\s*[A-Za-z_]\\w*\\s*=)(?!=)(.*)$", Pattern.DOTALL)
                        .matcher(argument);
                out.append(i > 0 ? "," : "");
                out.append(named.matches() ? named.group(1) + "(" + named.group(2) + ")" : argument);
            }
            out.append(')');
            from = close + 1;
        }
        return out.append(template.substring(from)).toString();
    }

    private static int matchingParenthesis(String s, int from) {
        int close = scanOutsideQuotes(s, from, (i, c, depth) -> depth == 0 && isCloser(c));
        return close >= 0 && s.charAt(close) == ')' ? close : -1;
    }

    private static List<String> topLevelSplit(String arguments) {
        List<String> parts = new ArrayList<>();
        if (arguments.isBlank()) {
            return parts;
        }
        List<Integer> commas = new ArrayList<>();
        scanOutsideQuotes(arguments, 0, (i, c, depth) -> {
            if (c == ',' && depth == 0) {
                commas.add(i);
            }
            return false;
        });
        int start = 0;
        for (int comma : commas) {
            parts.add(arguments.substring(start, comma));
            start = comma + 1;
        }
        parts.add(arguments.substring(start));
        return parts;
    }

    /** Sees one character outside string literals, with the bracket depth before it; true stops the scan. */
    private interface CharVisitor {
        boolean stopAt(int index, char c, int depth);
    }

    /**
     * Walks {@code s} from {@code from}, skipping quoted strings (with backslash escapes) and tracking bracket
     * depth; returns the first index where {@code visitor} stops, or -1.
     */
    private static int scanOutsideQuotes(String s, int from, CharVisitor visitor) {
        int depth = 0;
        char quote = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
                continue;
            }
            if (visitor.stopAt(i, c, depth)) {
                return i;
            }
            if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (isCloser(c)) {
                depth--;
            }
        }
        return -1;
    }

    private static boolean isCloser(char c) {
        return c == ')' || c == ']' || c == '}';
    }

    private static Jinjava newJinjava() {
        LegacyOverrides overrides = LegacyOverrides.newBuilder()
                .withUseTrimmingForNotesAndExpressions(true)
                .withUseNaturalOperatorPrecedence(true)
                .withParseWhitespaceControlStrictly(true)
                .withIterateOverMapKeys(true)
                .withKeepNullableLoopValues(true)
                .withHandleBackslashInQuotesOnly(true)
                .withUseSnakeCasePropertyNaming(true)
                .build();
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        Jinjava jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withMaxOutputSize(MAX_OUTPUT_CHARS)
                .withProcessors(JinjavaProcessors.newBuilder()
                        .withNodePreProcessor(ChatTemplate::checkDeadline)
                        .build())
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withLegacyOverrides(overrides)
                .withElResolver(resolver)
                .build());
        var global = jinjava.getGlobalContext();
        global.registerFunction(
                new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        global.registerFunction(
                new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
        global.registerFilter(new ToJsonFilter());
        global.registerFilter(new TrimFilter());
        global.registerFilter(new StringFilter());
        global.registerExpTest(new IterableTest());
        return jinjava;
    }

    /** {@code raise_exception(message)}: the template refuses the input. */
    public static Object raiseException(String message) {
        throw new TemplateRaised(message);
    }

    /** {@code strftime_now(format)}: the current local time in Python's strftime format. */
    public static String strftimeNow(String format) {
        return Strftime.format(ZonedDateTime.now(CLOCK.get()), format);
    }

    static final class TemplateRaised extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TemplateRaised(String message) {
            super(message);
        }
    }

    /** {@code tojson} as transformers defines it: {@code json.dumps} with ensure_ascii=False. */
    private static final class ToJsonFilter implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return filter(var, interpreter, args, Map.of());
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            String itemSeparator = null;
            String keySeparator = null;
            if (kwargs.get("separators") instanceof List<?> separators && separators.size() == 2) {
                itemSeparator = String.valueOf(separators.get(0));
                keySeparator = String.valueOf(separators.get(1));
            }
            boolean sortKeys = Boolean.TRUE.equals(kwargs.get("sort_keys"));
            Integer indentWidth = indent instanceof Number n ? Integer.valueOf(n.intValue()) : null;
            if (indent instanceof String s && !s.isBlank()) {
                indentWidth = Integer.parseInt(s.strip());
            }
            return PythonValues.jsonDumps(var, indentWidth, itemSeparator, keySeparator, sortKeys);
        }
    }

    /** {@code trim} as Python's {@code str.strip()} (Unicode whitespace), optionally of given characters. */
    private static final class TrimFilter implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            if (var == null) {
                return "";
            }
            String chars = args.length > 0 ? args[0] : null;
            return PythonValues.strip(PythonValues.str(var), chars, true, true);
        }
    }

    /** {@code is iterable} as in Python, where strings are iterable too. */
    private static final class IterableTest implements ExpTest {
        @Override
        public String getName() {
            return "iterable";
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return var instanceof Iterable<?>
                    || var instanceof Map<?, ?>
                    || var instanceof CharSequence
                    || (var != null && var.getClass().isArray());
        }
    }

    /** {@code string} as Python's {@code str()}: dicts and lists print as their repr. */
    private static final class StringFilter implements Filter {
        @Override
        public String getName() {
            return "string";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return var == null ? "None" : PythonValues.str(var);
        }
    }
}
