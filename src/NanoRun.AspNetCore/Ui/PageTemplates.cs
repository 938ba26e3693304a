using AspNetCoreGeneratedDocument;
using RazorSlices;

namespace NanoRun.AspNetCore.Ui;

// Internal counterparts of the proxies Razor Slices would generate: the generated ones are public, and the page models stay internal.

internal sealed class LayoutPage : IRazorSliceProxy<LayoutModel>
{
    public static RazorSlice<LayoutModel> Create(LayoutModel model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Layout { Model = m });

    static RazorSlice<LayoutModel> IRazorSliceProxy<LayoutModel>.CreateSlice(LayoutModel model) => Create(model);
}

internal sealed class HeadersPage : IRazorSliceProxy<IReadOnlyList<KeyValuePair<string, string>>>
{
    public static RazorSlice<IReadOnlyList<KeyValuePair<string, string>>> Create(IReadOnlyList<KeyValuePair<string, string>> model) =>
        RazorSliceFactory.Create(model, static m => new Ui_Pages_Headers { Model = m });

    static RazorSlice<IReadOnlyList<KeyValuePair<string, string>>> IRazorSliceProxy<IReadOnlyList<KeyValuePair<string, string>>>.CreateSlice(IReadOnlyList<KeyValuePair<string, string>> model) => Create(model);
}

internal sealed class StderrPage : IRazorSliceProxy<BodyPreview>
{
    public static RazorSlice<BodyPreview> Create(BodyPreview model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Stderr { Model = m });

    static RazorSlice<BodyPreview> IRazorSliceProxy<BodyPreview>.CreateSlice(BodyPreview model) => Create(model);
}

internal static class Pages
{
    public static RazorSlice<UnitsPageModel> Units(UnitsPageModel model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Units { Model = m });

    public static RazorSlice<UnitPageModel> Unit(UnitPageModel model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Unit { Model = m });

    public static RazorSlice<SearchPageModel> Search(SearchPageModel model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Search { Model = m });

    public static RazorSlice<RequestPageModel> Request(RequestPageModel model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Request { Model = m });

    public static RazorSlice<AttemptPageModel> Attempt(AttemptPageModel model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Attempt { Model = m });

    public static RazorSlice<SchedulesPageModel> Schedules(SchedulesPageModel model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Schedules { Model = m });

    public static RazorSlice<NodesPageModel> Nodes(NodesPageModel model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Nodes { Model = m });

    public static RazorSlice<LoginPageModel> Login(LoginPageModel model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Login { Model = m });

    public static RazorSlice<MessagePageModel> Message(MessagePageModel model) => RazorSliceFactory.Create(model, static m => new Ui_Pages_Message { Model = m });
}
