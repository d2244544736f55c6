# Holds N authenticated WebSockets to one Brook node from one source address, for HOLD seconds.
# Usage: python3 hold.py PORT N SOURCE_ADDRESS HOLD (guests from POST /api/v1/auth/guest; see run.sh).
import asyncio, json, sys, time, urllib.request, resource
import websockets
port, n, src, hold = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
def guest():
    r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/guest", data=b"{}", headers={"content-type": "application/json"}))
    return json.loads(r.read())["token"]
tokens = [guest() for _ in range(20)]
held, failed = [], 0
async def one(i, sem):
    global failed
    async with sem:
        try:
            ws = await websockets.connect(f"ws://127.0.0.1:{port}/api/v1/chat/ws?token={tokens[i % 20]}", local_addr=(src, 0), open_timeout=60, ping_interval=None, max_queue=4)
            msg = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if msg.get("type") != "auth_success":
                failed += 1; await ws.close(); return
            held.append(ws)
        except Exception as e:
            failed += 1
            if failed < 3: print("fail", repr(e)[:200], flush=True)
async def main():
    sem = asyncio.Semaphore(200)
    t = time.time()
    await asyncio.gather(*(one(i, sem) for i in range(n)))
    print(f"port {port}: held {len(held)} failed {failed} in {time.time()-t:.1f}s", flush=True)
    await asyncio.sleep(hold)
asyncio.run(main())
