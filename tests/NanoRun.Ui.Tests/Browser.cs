using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace NanoRun.Ui.Tests;

/// <summary>One headless Chromium shared by the browser tests of a collection; each test starts from no cookies and a desktop window.</summary>
/// <remarks>Uses the system's <c>/usr/bin/chromium</c> and <c>/usr/bin/chromedriver</c> (Debian's <c>chromium</c> and <c>chromium-driver</c>).</remarks>
public sealed class Browser : IDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    private readonly string _profile = Path.Combine(Path.GetTempPath(), "nano-run-ui-chromium-" + Guid.NewGuid().ToString("N"));
    private readonly ChromeDriver _driver;

    public Browser()
    {
        var service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments(
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--user-data-dir=" + _profile);
        _driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
        _driver.Manage().Timeouts().PageLoad = DefaultWait;
        _driver.Manage().Timeouts().AsynchronousJavaScript = DefaultWait;
    }

    public IWebDriver Driver => _driver;

    /// <summary>Forgets every cookie and any phone emulation left by the previous test.</summary>
    public void Reset()
    {
        _driver.ExecuteCdpCommand("Network.clearBrowserCookies", []);
        _driver.ExecuteCdpCommand("Emulation.clearDeviceMetricsOverride", []);
        _driver.Navigate().GoToUrl("about:blank");
    }

    /// <summary>Makes the viewport a phone's: <paramref name="width"/> CSS pixels wide, honouring the page's viewport meta tag.</summary>
    public void EmulatePhone(int width = 390, int height = 844) =>
        _driver.ExecuteCdpCommand("Emulation.setDeviceMetricsOverride", new Dictionary<string, object?>
        {
            ["width"] = width,
            ["height"] = height,
            ["deviceScaleFactor"] = 1,
            ["mobile"] = true,
        });

    /// <summary>Sets the viewport to <paramref name="width"/> by <paramref name="height"/> CSS pixels, as a phone when <paramref name="mobile"/>.</summary>
    public void Viewport(long width, long height, bool mobile) =>
        _driver.ExecuteCdpCommand("Emulation.setDeviceMetricsOverride", new Dictionary<string, object?>
        {
            ["width"] = width,
            ["height"] = height,
            ["deviceScaleFactor"] = 1,
            ["mobile"] = mobile,
        });

    public void Go(Uri url) => _driver.Navigate().GoToUrl(url);

    public IWebElement Find(string css) => _driver.FindElement(By.CssSelector(css));

    public IReadOnlyList<IWebElement> FindAll(string css) => _driver.FindElements(By.CssSelector(css));

    public T Script<T>(string script) => (T)_driver.ExecuteScript(script)!;

    /// <summary>Waits until <paramref name="condition"/> holds, for at most a minute (the machine may be busy).</summary>
    public void WaitUntil(Func<IWebDriver, bool> condition, string what)
    {
        var wait = new WebDriverWait(_driver, DefaultWait) { PollingInterval = TimeSpan.FromMilliseconds(100), Message = what };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        wait.Until(condition);
    }

    /// <summary>Clicks the element matching <paramref name="css"/>, finding it again when a page reload replaced it.</summary>
    public void Click(string css) =>
        WaitUntil(
            d =>
            {
                d.FindElement(By.CssSelector(css)).Click();
                return true;
            },
            $"'{css}' to be clickable");

    /// <summary>The text of the element matching <paramref name="css"/>, read again when a page reload replaced it.</summary>
    public string Text(string css)
    {
        var text = string.Empty;
        WaitUntil(
            d =>
            {
                text = d.FindElement(By.CssSelector(css)).Text;
                return true;
            },
            $"'{css}' to be readable");
        return text;
    }

    /// <summary>Waits until the element matching <paramref name="css"/> shows <paramref name="text"/>.</summary>
    public void WaitForText(string css, string text) =>
        WaitUntil(d => d.FindElement(By.CssSelector(css)).Text == text, $"'{css}' to show '{text}'");

    public void Dispose()
    {
        _driver.Quit();
        _driver.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The browser tests share one browser and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<Browser>
{
    public const string Name = "browser";
}
