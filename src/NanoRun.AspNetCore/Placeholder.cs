namespace NanoRun.AspNetCore;
internal static class Placeholder;
