package dev.safemerge.ui;

/**
 * What every page shows around its content: the title, who may change things, the CSRF token for the forms and a
 * one-line message (the outcome of the last change), or null.
 */
public record Page(String title, boolean canWrite, boolean keyRequired, String csrf, String message) {}
