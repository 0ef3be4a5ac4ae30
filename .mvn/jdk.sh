# Finds a JDK 25 or newer; sourced by ./mvnw and ./safemerge so that both use the same JDK the same way.
# POSIX sh (mvnw runs under sh with globbing off, the launcher under bash).
# SAFEMERGE_JDK_SEARCH_ROOT prefixes every usual install folder (the tests point it at a fake file system).

safemerge_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
}

# Prints the first JDK home whose java is 25 or newer: SAFEMERGE_JAVA_HOME, JAVA_HOME, then the usual folders.
safemerge_find_jdk() {
  _sm_root="${SAFEMERGE_JDK_SEARCH_ROOT:-}"
  _sm_noglob=false
  case "$-" in *f*) _sm_noglob=true; set +f ;; esac
  _sm_found=""
  for _sm_candidate in "${SAFEMERGE_JAVA_HOME:-}" "${JAVA_HOME:-}" \
      "$_sm_root"/usr/lib/jvm/temurin-25* "$_sm_root"/usr/lib/jvm/*25* "$_sm_root"/usr/lib/jvm/* \
      "$_sm_root"/opt/java/* "$_sm_root"/opt/jdk* "$_sm_root${HOME:-}"/.sdkman/candidates/java/* \
      "$_sm_root"/Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -n "$_sm_candidate" ] && [ -x "$_sm_candidate/bin/javac" ] || continue
    _sm_major="$(safemerge_java_major "$_sm_candidate")"
    if [ -n "$_sm_major" ] && [ "$_sm_major" -ge 25 ]; then
      _sm_found="$_sm_candidate"
      break
    fi
  done
  if $_sm_noglob; then set -f; fi
  [ -n "$_sm_found" ] || return 1
  printf '%s\n' "$_sm_found"
}

SAFEMERGE_NO_JDK_MESSAGE="needs a JDK 25 or newer: install one (for example Temurin 25, apt package temurin-25-jdk) or set JAVA_HOME to it"
