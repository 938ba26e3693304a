"""Times the chart query of the embedded store at one million stored requests.

Builds a SQLite database with the store's own migrations (read from SqliteSchema.cs), fills it with 1 000 000
requests of one unit, and runs the hour and the day chart query of SqliteRequestStore.Activity.cs several times.
Usage: python3 bench/activity/activity_query.py [--spread-days N]   (default 10: 100 000 requests in the last day)
"""
import argparse, os, random, re, sqlite3, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
schema = open(os.path.join(root, "src/NanoRun.Storage.Sqlite/SqliteSchema.cs")).read()
block = schema[schema.index("Migrations ="):schema.index("];")]
migrations = re.findall(r'"""\n(.*?)"""', block, re.S)
activity = open(os.path.join(root, "src/NanoRun.Storage.Sqlite/SqliteRequestStore.Activity.cs")).read()
query = re.search(r'CountActivity = """\n(.*?)"""', activity, re.S).group(1)

parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=1_000_000)
parser.add_argument("--spread-days", type=float, default=10)
args = parser.parse_args()

path = os.path.join(tempfile.mkdtemp(), "store.db")
db = sqlite3.connect(path)
for migration in migrations:
    db.executescript(migration)
now = 1_780_000_000_000
spread = int(args.spread_days * 86_400_000)
random.seed(1)

def rows():
    for i in range(args.rows):
        created = now - random.randrange(spread)
        state = random.choices([3, 4, 5, 0], [90, 7, 2, 1])[0]
        completed = None if state == 0 else created + random.randrange(1, 60_000)
        yield (f"{i:032x}", "job" if i % 10 else "other", state, "POST", "/api/job/", "", None, b"x", 1,
               created, created, completed, created)

start = time.perf_counter()
db.executemany("""INSERT INTO requests (id, unit, state, method, uri, headers, body_key, body_inline, body_length,
                  created_at, updated_at, completed_at, next_run_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows())
db.commit()
db.execute("ANALYZE")
print(f"sqlite {sqlite3.sqlite_version}: {args.rows} rows over {args.spread_days} days stored in {time.perf_counter() - start:.1f} s")
for name, width, buckets in (("hour (60 x 1 min)", 60_000, 60), ("day (24 x 1 h)", 3_600_000, 24)):
    end = now - now % width + width
    params = {"unit": "job", "from": end - width * buckets, "to": end, "width": width}
    plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + query, params)]
    times = []
    for _ in range(7):
        t = time.perf_counter()
        result = db.execute(query, params).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    counted = sum(r[2] for r in result if r[0] == -1)
    times.sort()
    print(f"  {name}: {counted} received in window, median {times[3]:.1f} ms, best {times[0]:.1f} ms; plan: {'; '.join(plan)}")
