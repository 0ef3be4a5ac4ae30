package dev.safemerge.ui;

import dev.safemerge.registry.Registry;
import dev.safemerge.registry.VersionRef;
import dev.safemerge.tensor.BadInputException;
import gg.jte.ContentType;
import gg.jte.TemplateEngine;
import gg.jte.output.StringOutput;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Cookie;
import io.javalin.http.HttpStatus;
import io.javalin.http.SameSite;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The dashboard: server-rendered pages over one open registry. Reading needs a signed-in session when an API key is
 * set (unless {@code publicRead}); changes (alias move, rollback, tag) are POST only and need a session signed in with
 * the key and that session's CSRF token; without a key the dashboard is read-only. The registry writes every change
 * to its audit log.
 */
public final class Dashboard implements AutoCloseable {
    static final String SESSION_COOKIE = "safemerge_session";
    static final String CSRF_FIELD = "csrf";
    private static final String SECURITY_POLICY =
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline';"
                    + " img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * @param apiKey null: read-only dashboard
     * @param publicRead with a key, pages may be read without signing in
     */
    public record Options(String host, int port, String apiKey, boolean publicRead) {}

    private final Registry registry;
    private final Options options;
    // compiled from src/main/jte at build time into this package, so that the page records can stay package-private
    private final TemplateEngine templates = TemplateEngine.createPrecompiled(
            null, ContentType.Html, Dashboard.class.getClassLoader(), Dashboard.class.getPackageName());
    /** Session id → that session's CSRF token. */
    private final Map<String, String> sessions = new ConcurrentHashMap<>();

    private final Views views;
    private final Javalin app;

    private Dashboard(Registry registry, Options options) {
        this.registry = registry;
        this.options = options;
        this.views = new Views(registry);
        this.app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.http.prefer405over404 = true;
            config.routes.before(ctx -> {
                ctx.header("Content-Security-Policy", SECURITY_POLICY);
                ctx.header("X-Content-Type-Options", "nosniff");
                ctx.header("Referrer-Policy", "no-referrer");
            });
            config.routes.before(this::requireReader);
            config.routes.get("/static/{file}", this::asset);
            config.routes.get("/login", ctx -> render(ctx, "Sign in", "login.jte", Map.of()));
            config.routes.post("/login", this::login);
            config.routes.post("/logout", ctx -> {
                String session = requireWriter(ctx);
                sessions.remove(session);
                ctx.removeCookie(SESSION_COOKIE, "/");
                ctx.redirect("/", HttpStatus.SEE_OTHER);
            });
            config.routes.get("/", ctx -> render(ctx, "Versions", "versions.jte", Map.of("rows", views.versions())));
            config.routes.get("/version", ctx -> {
                VersionRef ref = VersionRef.parse(required(ctx, "ref"));
                render(ctx, ref.toString(), "version.jte", Map.of("v", views.version(ref)));
            });
            config.routes.get("/sweeps", ctx -> render(ctx, "Sweeps", "sweeps.jte", Map.of("sweeps", views.sweeps())));
            config.routes.get("/sweep", ctx -> {
                String name = required(ctx, "name");
                render(ctx, "Sweep " + name, "sweep.jte", Map.of("s", views.sweep(name)));
            });
            config.routes.get(
                    "/compare",
                    ctx -> render(
                            ctx,
                            "Compare",
                            "compare.jte",
                            Map.of(
                                    "c",
                                    views.compare(
                                            ctx.queryParam("a"),
                                            ctx.queryParam("b"),
                                            ctx.queryParam("suite"),
                                            ctx.queryParam("category")))));
            config.routes.get("/aliases", ctx -> render(ctx, "Aliases", "aliases.jte", Map.of("a", views.aliases())));
            config.routes.get("/audit", ctx -> render(ctx, "Audit log", "audit.jte", Map.of("a", views.audit())));
            config.routes.get("/gates", ctx -> render(ctx, "Gate verdicts", "gates.jte", Map.of("g", views.gates())));
            config.routes.post("/aliases/move", ctx -> {
                requireWriter(ctx);
                String alias = required(ctx, "alias");
                String target = required(ctx, "target");
                boolean override = ctx.formParam("override") != null;
                String reason = blankToNull(ctx.formParam("reason"));
                synchronized (registry) {
                    registry.setAlias(alias, target, override, reason, null);
                }
                done(ctx, "/aliases", "moved " + alias + " to " + target);
            });
            config.routes.post("/aliases/rollback", ctx -> {
                requireWriter(ctx);
                String alias = required(ctx, "alias");
                var move = Views.locked(registry, r -> r.rollback(alias, true));
                done(ctx, "/aliases", "rolled " + alias + " back to " + move.to());
            });
            config.routes.post("/tags", ctx -> {
                requireWriter(ctx);
                VersionRef ref = VersionRef.parse(required(ctx, "ref"));
                String tag = required(ctx, "tag");
                synchronized (registry) {
                    registry.tag(ref, tag);
                }
                done(ctx, "/version?ref=" + encode(ref.toString()), "tagged " + ref + " " + tag);
            });
            config.routes.exception(BadInputException.class, (e, ctx) -> failure(ctx, 400, e.getMessage()));
            config.routes.exception(Refused.class, (e, ctx) -> failure(ctx, e.status, e.getMessage()));
        });
    }

    /** Starts serving on {@code options.host():options.port()} (port 0: a free one). */
    public static Dashboard start(Registry registry, Options options) {
        Dashboard dashboard = new Dashboard(registry, options);
        try {
            dashboard.app.start(options.host(), options.port());
        } catch (RuntimeException e) {
            dashboard.app.stop();
            throw new BadInputException("cannot listen on " + options.host() + ":" + options.port() + ": " + e);
        }
        return dashboard;
    }

    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }

    /** A request the access rules refuse, with its HTTP status. */
    static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;

        Refused(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private String session(Context ctx) {
        String id = ctx.cookie(SESSION_COOKIE);
        return id != null && sessions.containsKey(id) ? id : null;
    }

    private void requireReader(Context ctx) {
        if (options.apiKey() == null || options.publicRead() || session(ctx) != null) {
            return;
        }
        String path = ctx.path();
        if (path.equals("/login") || path.startsWith("/static/")) {
            return;
        }
        if (ctx.method().name().equals("GET")) {
            ctx.redirect("/login", HttpStatus.SEE_OTHER);
            ctx.skipRemainingHandlers();
            return;
        }
        throw new Refused(401, "sign in with the API key first");
    }

    /** The session of a change: signed in with the key, and the form carries that session's CSRF token. */
    private String requireWriter(Context ctx) {
        if (options.apiKey() == null) {
            throw new Refused(403, "this dashboard is read-only: it was started without --api-key");
        }
        String session = session(ctx);
        if (session == null) {
            throw new Refused(401, "sign in with the API key first");
        }
        String token = ctx.formParam(CSRF_FIELD);
        if (token == null || !equal(token, sessions.get(session))) {
            throw new Refused(403, "missing or wrong CSRF token: reload the page and try again");
        }
        return session;
    }

    private void login(Context ctx) {
        if (options.apiKey() == null) {
            throw new Refused(403, "this dashboard is read-only: it was started without --api-key");
        }
        String key = ctx.formParam("key");
        if (key == null || !equal(key, options.apiKey())) {
            throw new Refused(401, "wrong API key");
        }
        String session = token();
        sessions.put(session, token());
        Cookie cookie = new Cookie(SESSION_COOKIE, session);
        cookie.setHttpOnly(true);
        cookie.setSameSite(SameSite.STRICT);
        cookie.setPath("/");
        ctx.cookie(cookie);
        ctx.redirect("/", HttpStatus.SEE_OTHER);
    }

    private static boolean equal(String a, String b) {
        return b != null
                && MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    private static String token() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private Page page(Context ctx, String title, String message) {
        String session = session(ctx);
        return new Page(
                title,
                session != null,
                options.apiKey() != null,
                session == null ? "" : sessions.get(session),
                message);
    }

    private void render(Context ctx, String title, String template, Map<String, Object> model) {
        Map<String, Object> params = new LinkedHashMap<>(model);
        params.put("page", page(ctx, title, ctx.queryParam("done")));
        StringOutput out = new StringOutput();
        templates.render(template, params, out);
        ctx.contentType("text/html; charset=utf-8").result(out.toString());
    }

    /** After a change: back to the page, which shows what was done. */
    private static void done(Context ctx, String path, String message) {
        ctx.redirect(path + (path.contains("?") ? "&" : "?") + "done=" + encode(message), HttpStatus.SEE_OTHER);
    }

    private void failure(Context ctx, int status, String message) {
        ctx.status(status);
        render(ctx, "Refused", "refused.jte", Map.of("reason", message));
    }

    private void asset(Context ctx) {
        String file = ctx.pathParam("file");
        String type = switch (file) {
            case "dashboard.css" -> "text/css; charset=utf-8";
            case "dashboard.js" -> "text/javascript; charset=utf-8";
            default -> throw new Refused(404, "no such file: " + file);
        };
        try (InputStream in = Dashboard.class.getResourceAsStream("static/" + file)) {
            ctx.contentType(type).result(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String required(Context ctx, String name) {
        String value = ctx.method().name().equals("POST") ? ctx.formParam(name) : ctx.queryParam(name);
        if (value == null || value.isBlank()) {
            throw new BadInputException("missing parameter: " + name);
        }
        return value.strip();
    }

    private static String blankToNull(String text) {
        return text == null || text.isBlank() ? null : text.strip();
    }

    static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }
}
