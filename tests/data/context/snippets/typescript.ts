import { Logger } from "./logger";

export interface Repository<T> {
  find(id: string): Promise<T | undefined>;
}

export type UserId = string;

export class UserService {
  constructor(private readonly repo: Repository<User>, private log: Logger) {}

  async rename(id: UserId, name: string): Promise<void> {
    const user = await this.repo.find(id);
    this.log.info(`renaming ${id}`);
    validateName(name);
  }
}

function validateName(name: string): void {
  if (!name) throw new Error("empty name");
}
