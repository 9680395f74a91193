package zconf

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

var durationType = reflect.TypeOf(time.Duration(0))

// assign stores raw (from a default, the JSON file, the environment or an
// override) into f, strictly: no silent truncation, wrap-around or guessing
// of bases, and errors that name the key and the value.
func assign(f reflect.Value, key string, raw any) error {
	bad := func(want string) error {
		return fmt.Errorf("zconf: %s = %#v: must be %s", key, raw, want)
	}
	switch {
	case f.Type() == durationType:
		switch r := raw.(type) {
		case time.Duration:
			f.SetInt(int64(r))
		case string:
			d, err := time.ParseDuration(r)
			if err != nil {
				return bad(`a duration such as "5s" or "250ms"`)
			}
			f.SetInt(int64(d))
		default:
			return bad(`a duration string such as "5s" or "250ms"`)
		}
	case f.Kind() == reflect.String:
		// A named string type (a mode, say) arrives as itself from the
		// defaults and as a string from a file or the environment.
		r := reflect.ValueOf(raw)
		if !r.IsValid() || (r.Type() != f.Type() && r.Type() != reflect.TypeOf("")) {
			return bad("a string")
		}
		f.SetString(r.String())
	case f.Kind() == reflect.Bool:
		switch r := raw.(type) {
		case bool:
			f.SetBool(r)
		case string:
			b, err := strconv.ParseBool(r)
			if err != nil {
				return bad("true or false")
			}
			f.SetBool(b)
		default:
			return bad("true or false")
		}
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var list []string
		switch r := raw.(type) {
		case []string:
			list = r
		case string: // from the environment: comma-separated
			list = []string{} // given, even if empty: not nil, which means the default
			for _, part := range strings.Split(r, ",") {
				if part = strings.TrimSpace(part); part != "" {
					list = append(list, part)
				}
			}
		case []any:
			list = []string{}
			for _, e := range r {
				s, ok := e.(string)
				if !ok {
					return bad("a list of strings")
				}
				list = append(list, s)
			}
		case nil:
		default:
			return bad("a list of strings")
		}
		f.Set(reflect.ValueOf(list))
	case f.CanFloat():
		v, ok := toFloat64(raw)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) || (f.Kind() == reflect.Float32 && math.Abs(v) > math.MaxFloat32) {
			return bad("a finite number")
		}
		f.SetFloat(v)
	case f.CanInt() || f.CanUint():
		n, ok := toInt64(raw)
		if !ok {
			return bad("a whole number")
		}
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if f.CanUint() {
			lo, hi = 0, int64(math.MaxInt64)
			if bits := f.Type().Bits(); bits < 64 {
				hi = 1<<bits - 1
			}
		} else if bits := f.Type().Bits(); bits < 64 {
			lo, hi = -1<<(bits-1), 1<<(bits-1)-1
		}
		if n < lo || n > hi {
			return fmt.Errorf("zconf: %s = %d: must be between %d and %d", key, n, lo, hi)
		}
		if f.CanUint() {
			f.SetUint(uint64(n))
		} else {
			f.SetInt(n)
		}
	default:
		return fmt.Errorf("zconf: %s: unsupported field type %s", key, f.Type())
	}
	return nil
}

func toInt64(raw any) (int64, bool) {
	switch r := raw.(type) {
	case int:
		return int64(r), true
	case int32:
		return int64(r), true
	case int64:
		return r, true
	case uint32:
		return int64(r), true
	case uint64:
		if r > math.MaxInt64 {
			return 0, false
		}
		return int64(r), true
	case float64:
		if r != math.Trunc(r) || r < math.MinInt64 || r >= math.MaxInt64 {
			return 0, false
		}
		return int64(r), true
	case json.Number:
		if n, err := strconv.ParseInt(string(r), 10, 64); err == nil {
			return n, true
		}
		f, err := strconv.ParseFloat(string(r), 64)
		if err != nil {
			return 0, false
		}
		return toInt64(f)
	case string:
		n, err := strconv.ParseInt(r, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func toFloat64(raw any) (float64, bool) {
	switch r := raw.(type) {
	case float64:
		return r, true
	case float32:
		return float64(r), true
	case json.Number:
		v, err := strconv.ParseFloat(string(r), 64)
		return v, err == nil
	case string:
		v, err := strconv.ParseFloat(r, 64)
		return v, err == nil
	}
	if n, ok := toInt64(raw); ok {
		return float64(n), true
	}
	return 0, false
}
