package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// programPeer is the mocksmtp program (cmd/mocksmtp), as load tests run
// it: built once by the harness, started with -quiet (it prints nothing
// per message or session) and its HTTP API on, which the harness asks
// how many messages it holds.
type programPeer struct{ path string }

func (programPeer) name() string { return "mocksmtp-program" }

// buildProgram builds cmd/mocksmtp into dir and returns its path.
func buildProgram(dir string) (string, error) {
	path := filepath.Join(dir, "mocksmtp")
	cmd := exec.Command("go", "build", "-o", path, "github.com/mocksmtp/mocksmtp/cmd/mocksmtp")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/mocksmtp: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return path, nil
}

// listeningRE is the program's log line that says where it listens.
var listeningRE = regexp.MustCompile(`msg=listening smtp=(\S+) http=(\S+)`)

type programProc struct {
	*child
	smtp, http string
}

func (p programPeer) start(ctx context.Context) (proc, error) {
	cmd := exec.Command(p.path, "-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-quiet")
	cmd.Stdout = os.Stderr // nothing, with -quiet
	cmd.WaitDelay = 2 * time.Second
	addrs := make(chan []string, 1)
	cmd.Stderr = &lineWriter{line: func(l string) {
		if m := listeningRE.FindStringSubmatch(l); m != nil {
			select {
			case addrs <- m[1:]:
			default:
			}
		}
	}}
	c, err := startChild(cmd, nil)
	if err != nil {
		return nil, err
	}
	pr := &programProc{child: c}
	select {
	case a := <-addrs:
		pr.smtp, pr.http = a[0], a[1]
		return pr, nil
	case <-c.exited:
		return nil, fmt.Errorf("mocksmtp program did not start: %w", c.early())
	case <-ctx.Done():
		pr.stop()
		return nil, fmt.Errorf("mocksmtp program did not start: %w", ctx.Err())
	}
}

func (pr *programProc) addr() string { return pr.smtp }

// stats reads the program's CPU time and peak RSS from /proc before it
// asks, over the API, for the messages it holds: the JSON of every
// message is the harness's work, not the load's.
func (pr *programProc) stats(ctx context.Context, sent int) (int64, int64, *syscall.Rusage, error) {
	ru, err := procUsage(pr.cmd.Process.Pid)
	if err != nil {
		return 0, 0, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, statsWait+time.Minute)
	defer cancel()
	url := fmt.Sprintf("http://%s/api/wait?count=%d&timeout=%v", pr.http, sent, statsWait)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	defer resp.Body.Close()
	var msgs []struct {
		Size int64 `json:"size"`
	}
	switch resp.StatusCode {
	case http.StatusOK:
		err = json.NewDecoder(resp.Body).Decode(&msgs)
	case http.StatusRequestTimeout:
		var body struct {
			Messages []struct {
				Size int64 `json:"size"`
			} `json:"messages"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		msgs = body.Messages
	default:
		err = fmt.Errorf("GET /api/wait: %s", resp.Status)
	}
	if err != nil {
		return 0, 0, nil, err
	}
	var octets int64
	for _, m := range msgs {
		octets += m.Size
	}
	return int64(len(msgs)), octets, ru, nil
}

// procUsage reads a process's CPU times and peak RSS from /proc, as
// getrusage would give them.
func procUsage(pid int) (*syscall.Rusage, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	// The command name, in parentheses, may hold spaces: fields start after it.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return nil, errors.New("bad /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return nil, errors.New("bad /proc stat")
	}
	const ticks = 100 // USER_HZ on Linux
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	var ru syscall.Rusage
	ru.Utime = syscall.NsecToTimeval(utime * int64(time.Second) / ticks)
	ru.Stime = syscall.NsecToTimeval(stime * int64(time.Second) / ticks)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return nil, err
			}
			ru.Maxrss = kb
		}
	}
	return &ru, nil
}
