package dev.safemerge.app.serve;

/** A request the server refuses, answered with an OpenAI-style error body and the given HTTP status. */
final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int status;
    final String type;
    final String param;
    final String code;

    ApiException(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    static ApiException badRequest(String message, String param) {
        return new ApiException(400, "invalid_request_error", message, param, null);
    }

    static ApiException unauthorized() {
        return new ApiException(
                401,
                "invalid_request_error",
                "missing or wrong API key (Authorization: Bearer KEY)",
                null,
                "invalid_api_key");
    }

    static ApiException modelNotFound(String model) {
        return new ApiException(
                404, "invalid_request_error", "the model '" + model + "' does not exist", "model", "model_not_found");
    }

    static ApiException overloaded(int queued) {
        return new ApiException(
                429,
                "rate_limit_error",
                "the server is busy (" + queued + " prompts queued); retry later",
                null,
                "queue_full");
    }
}
